/**
 * The DEP-5 copyright file (scripts/package/copyright.ts): a module shipped in node_modules gets
 * its own paragraph; modules compiled into a bundle are named in the bundle's paragraph with their
 * licences and where their licence texts are, and every licence identifier used gets a paragraph.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyrightFile } from '../../../../scripts/package/copyright.js';

const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const mod = (name: string) => ({ sourceDir: join(REPO, 'node_modules', name), name, version: '1.0.0' });

test('a shipped module and a bundle: each named with its licence, every licence id explained', () => {
  const text = copyrightFile('MIT', [{ ...mod('raw-socket'), installPath: 'usr/lib/x/node_modules/raw-socket' }], [{
    installPath: 'usr/lib/x/dist/client/bin', licenceDir: 'usr/share/doc/x/licenses', modules: [mod('commander'), mod('node-forge')],
  }]);
  const paras = text.trim().split('\n\n');
  assert.ok(paras.some((p) => p.startsWith('Files: usr/lib/x/node_modules/raw-socket/*\n')));
  const bundle = paras.find((p) => p.startsWith('Files: usr/lib/x/dist/client/bin/*\n'));
  assert.ok(bundle);
  assert.match(bundle, /^License: MIT AND MIT AND \(BSD-3-Clause OR GPL-2\.0\)$/m);
  assert.match(bundle, /commander 1\.0\.0 \(MIT; licence text: \/usr\/share\/doc\/x\/licenses\/commander\/LICENSE\)/);
  assert.match(bundle, /node-forge 1\.0\.0 \(\(BSD-3-Clause OR GPL-2\.0\); licence text: \/usr\/share\/doc\/x\/licenses\/node-forge\/LICENSE\)/);
  for (const id of ['MIT', 'BSD-3-Clause', 'GPL-2.0']) assert.ok(paras.some((p) => p.startsWith(`License: ${id}\n`)), id);
});

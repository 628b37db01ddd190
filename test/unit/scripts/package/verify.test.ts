import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importProblems, importsOf, moduleName } from '../../../../scripts/package/verify.js';

test('import literals are found in every form the compiled code uses', () => {
  const js = `import { a } from './a.js';
import 'side-effect';
export { b } from "../b.js";
const c = await import('commander');
const pcap = createRequire(import.meta.url)('pcap');
const r = require('raw-socket');
const t = \`template \${x}\`;`;
  assert.deepEqual(importsOf(js), ['./a.js', 'side-effect', '../b.js', 'commander', 'pcap', 'raw-socket']);
});

test('bare specifiers name their package', () => {
  assert.equal(moduleName('pg/lib/client.js'), 'pg');
  assert.equal(moduleName('@opentelemetry/api/build/x'), '@opentelemetry/api');
});

test('imports that leave the package, name a missing file or an unshipped module are reported', () => {
  const root = mkdtempSync(join(tmpdir(), 'tumbler-verify-'));
  try {
    mkdirSync(join(root, 'dist', 'client'), { recursive: true });
    writeFileSync(join(root, 'dist', 'client', 'ok.js'), "import fs from 'node:fs'; import { x } from './here.js'; import c from 'commander'; import 'os';");
    writeFileSync(join(root, 'dist', 'client', 'here.js'), '');
    writeFileSync(join(root, 'dist', 'client', 'bad.js'),
      "import { s } from '../server/x.js'; import { y } from './gone.js'; import p from 'pcap'; import { z } from '../../../etc/x.js';");
    const problems = importProblems(root, 'dist/client', new Set(['commander']));
    assert.equal(problems.length, 4);
    assert.ok(problems.every((p) => p.startsWith('dist/client/bad.js: ')));
    assert.deepEqual(importProblems(root, 'dist/client', new Set(['commander', 'pcap'])).length, 3);
    assert.deepEqual(importProblems(root, 'dist/nothing', new Set()), ['dist/nothing: missing']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

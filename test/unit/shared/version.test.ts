/** `tumblerd --version` and `tumbler --version` print the one VERSION, which is package.json's. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../../shared/version.js';

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

test('VERSION is package.json\'s version', () => {
  assert.equal(VERSION, (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version);
});

test('both commands print it with --version and -V, exit 0', () => {
  for (const cli of ['server/main.ts', 'client/cli.ts']) {
    for (const flag of ['--version', '-V']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, cli), flag], { cwd: REPO, encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, `${cli} ${flag}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), VERSION);
    }
  }
});

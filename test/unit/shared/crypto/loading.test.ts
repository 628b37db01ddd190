/**
 * shared/crypto loads only the node-forge modules it uses (issue 13 §1): importing forge's index
 * would load RSA, TLS, PKI… and cost about half a bare Node start on every client command. Checked
 * in a fresh process, from the CommonJS module cache, after the module was imported and used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const USED = ['aes', 'baseN', 'cipher', 'cipherModes', 'forge', 'hmac', 'md', 'sha256', 'util'];

test('importing and using shared/crypto loads only the forge modules it needs', () => {
  const script = `
    const c = await import('./shared/crypto/index.ts');
    const k = Buffer.alloc(16, 1);
    c.gcmOpen(k, Buffer.alloc(12), Buffer.alloc(0), c.gcmSeal(k, Buffer.alloc(12), Buffer.alloc(0), Buffer.from('x')));
    c.hmacSha256(k, Buffer.from('x'));
    c.aesEncryptBlock(k, Buffer.alloc(16));
    const { createRequire } = await import('node:module');
    const cache = createRequire(import.meta.url).cache;
    console.log(JSON.stringify(Object.keys(cache).filter((f) => f.includes('/node-forge/')).map((f) => f.replace(/^.*\\/node-forge\\/lib\\//, '').replace(/\\.js$/, '')).sort()));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), USED);
});

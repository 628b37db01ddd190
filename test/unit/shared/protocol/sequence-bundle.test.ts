import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTumblerError } from '../../../../shared/errors.js';
import { checkSequence, generateSequence, sequenceFromKey, sequenceKey, uniformInt } from '../../../../shared/protocol/sequence.js';
import { decodeBundle, encodeBundle, type Bundle } from '../../../../shared/protocol/bundle.js';
import { deriveDeviceKey, DEFAULT_SCRYPT } from '../../../../shared/protocol/kdf.js';
import { createHash } from 'node:crypto';

function seeded(seed: string) {
  let ctr = 0;
  return (n: number) => {
    const out = Buffer.alloc(n);
    for (let o = 0; o < n; o += 32) createHash('sha256').update(`${seed}:${ctr++}`).digest().copy(out, o);
    return out;
  };
}
function code(fn: () => unknown): string {
  try { fn(); } catch (e) { assert.ok(isTumblerError(e)); return e.code; }
  return 'ACCEPTED';
}

test('generated sequences: 3 distinct ascending ports inside the range, key round trip', () => {
  const range = { first: 40000, last: 40063 };
  const rnd = seeded('s');
  for (let i = 0; i < 2000; i++) {
    const s = generateSequence(range, rnd);
    checkSequence(s, range);
    assert.deepEqual(sequenceFromKey(sequenceKey(s)), s);
  }
});

test('uniformInt has no gross bias', () => {
  const rnd = seeded('u');
  const counts = new Array(3).fill(0);
  for (let i = 0; i < 30000; i++) counts[uniformInt(3, rnd)]++;
  for (const c of counts) assert.ok(c > 9000 && c < 11000, String(counts));
});

test('sequenceFromKey rejects non-ascending or wrong-length keys', () => {
  assert.equal(code(() => sequenceFromKey(Buffer.alloc(8))), 'SEQUENCE_INVALID');
  assert.equal(code(() => sequenceFromKey(Buffer.from('9c419c419f49000000', 'hex'))), 'SEQUENCE_INVALID');
});

const bundle: Bundle = {
  server: '192.0.2.1', user: 'alice', device: 'laptop',
  kdf: { salt: Buffer.alloc(16, 3), ...DEFAULT_SCRYPT }, sequence: { ports: [40001, 40002, 40003], tags: [1, 2, 3] },
  services: { ssh: 1, db: 2 }, issuedAtMs: 1_800_000_000_000,
};

test('bundle round trip, tolerant of whitespace and line breaks', () => {
  const text = encodeBundle(bundle);
  assert.match(text, /^tumbler1\.[A-Za-z0-9_-]+\.[0-9a-f]{8}$/);
  const wrapped = text.replace(/(.{40})/g, '$1\n  ');
  assert.deepEqual(decodeBundle(wrapped), bundle);
});

test('bundle errors: checksum, version, garbage', () => {
  const text = encodeBundle(bundle);
  const i = 20;
  const typo = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
  assert.equal(code(() => decodeBundle(typo)), 'BUNDLE_CHECKSUM');
  assert.equal(code(() => decodeBundle(text.replace('tumbler1.', 'tumbler2.'))), 'BUNDLE_VERSION');
  assert.equal(code(() => decodeBundle('hello')), 'BUNDLE_INVALID');
  assert.equal(code(() => encodeBundle({ ...bundle, server: 'example.com' })), 'BUNDLE_INVALID');
  assert.equal(code(() => encodeBundle({ ...bundle, kdf: { ...bundle.kdf, N: 1024 } })), 'BUNDLE_INVALID');
});

test('KDF: deterministic for the same password and salt, differs with salt; weak password refused', async () => {
  const kdf = { salt: Buffer.alloc(16, 1), N: 1 << 14, r: 8, p: 1 };
  const a = await deriveDeviceKey('correct horse battery', kdf);
  const b = await deriveDeviceKey('correct horse battery', kdf);
  const c = await deriveDeviceKey('correct horse battery', { ...kdf, salt: Buffer.alloc(16, 2) });
  assert.equal(a.length, 16);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  await assert.rejects(() => deriveDeviceKey('short', kdf), (e: unknown) => isTumblerError(e, 'KDF_WEAK_PASSWORD'));
});

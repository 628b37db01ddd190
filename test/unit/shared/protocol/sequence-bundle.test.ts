import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTumblerError } from '../../../../shared/errors.js';
import { checkSequence, generateSequence, sequenceFromKey, sequenceKey, uniformInt } from '../../../../shared/protocol/sequence.js';
import { bundleCheck, bundleCheckMatches, decodeBundle, encodeBundle, type Bundle, type BundleFields } from '../../../../shared/protocol/bundle.js';
import { checkPasswordStrength, deriveDeviceKey, DEFAULT_SCRYPT, passwordChars } from '../../../../shared/protocol/kdf.js';
import { createHash } from 'node:crypto';
import { seededBytes } from '../../../helpers/seeded-bytes.js';
import { codeOf } from '../../../helpers/error-code.js';

const code = codeOf;

test('generated sequences: 3 distinct ascending ports inside the range, key round trip', () => {
  const range = { first: 40000, last: 40063 };
  const rnd = seededBytes('s');
  for (let i = 0; i < 2000; i++) {
    const s = generateSequence(range, rnd);
    checkSequence(s, range);
    assert.deepEqual(sequenceFromKey(sequenceKey(s)), s);
  }
});

test('uniformInt has no gross bias', () => {
  const rnd = seededBytes('u');
  const counts = new Array(3).fill(0);
  for (let i = 0; i < 30000; i++) counts[uniformInt(3, rnd)]++;
  for (const c of counts) assert.ok(c > 9000 && c < 11000, String(counts));
});

test('sequenceFromKey rejects non-ascending or wrong-length keys', () => {
  assert.equal(code(() => sequenceFromKey(Buffer.alloc(8))), 'SEQUENCE_INVALID');
  assert.equal(code(() => sequenceFromKey(Buffer.from('9c419c419f49000000', 'hex'))), 'SEQUENCE_INVALID');
});

const bundle: Bundle = {
  gateways: [['192.0.2.1', '2001:db8::1'], ['198.51.100.1']], user: 'alice', device: 'laptop',
  kdf: { salt: Buffer.alloc(16, 3), ...DEFAULT_SCRYPT }, sequence: { ports: [40001, 40002, 40003], tags: [1, 2, 3] },
  services: { ssh: 1, db: 2 }, issuedAtMs: 1_800_000_000_000, check: '0f3',
};
/** A bundle text whose JSON is `o`, with a correct checksum (reaches the field rules). */
const withJson = (o: unknown): string => {
  const j = JSON.stringify(o);
  return `tumbler2.${Buffer.from(j).toString('base64url')}.${createHash('sha256').update(j).digest().subarray(0, 4).toString('hex')}`;
};
const jsonOf = (text: string): Record<string, unknown> => JSON.parse(Buffer.from(text.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

test('bundle round trip, tolerant of whitespace and line breaks', () => {
  const text = encodeBundle(bundle);
  assert.match(text, /^tumbler2\.[A-Za-z0-9_-]+\.[0-9a-f]{8}$/);
  const wrapped = text.replace(/(.{40})/g, '$1\n  ');
  assert.deepEqual(decodeBundle(wrapped), bundle);
});

test('bundle addresses are made canonical; duplicates and non-literals are refused', () => {
  const b = decodeBundle(encodeBundle({ ...bundle, gateways: [['2001:DB8:0:0::1']] }));
  assert.deepEqual(b.gateways, [['2001:db8::1']]);
  assert.equal(code(() => encodeBundle({ ...bundle, gateways: [['192.0.2.1'], ['192.0.2.1']] })), 'BUNDLE_INVALID');
  assert.equal(code(() => encodeBundle({ ...bundle, gateways: [['example.com']] })), 'BUNDLE_INVALID');
  assert.equal(code(() => encodeBundle({ ...bundle, gateways: [] })), 'BUNDLE_INVALID');
  assert.equal(code(() => encodeBundle({ ...bundle, gateways: [[]] })), 'BUNDLE_INVALID');
  assert.equal(code(() => encodeBundle({ ...bundle, gateways: [['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5']] })), 'BUNDLE_INVALID');
});

test('bundle errors: checksum, version (format 1 named), garbage, field rules', () => {
  const text = encodeBundle(bundle);
  const i = 20;
  const typo = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
  assert.equal(code(() => decodeBundle(typo)), 'BUNDLE_CHECKSUM');
  assert.equal(code(() => decodeBundle(text.replace('tumbler2.', 'tumbler1.'))), 'BUNDLE_VERSION');
  assert.equal(code(() => decodeBundle(text.replace('tumbler2.', 'tumbler3.'))), 'BUNDLE_VERSION');
  assert.equal(code(() => decodeBundle(withJson({ ...jsonOf(text), v: 3 }))), 'BUNDLE_VERSION');
  assert.equal(code(() => decodeBundle('hello')), 'BUNDLE_INVALID');
  assert.equal(code(() => encodeBundle({ ...bundle, kdf: { ...bundle.kdf, N: 1024 } })), 'BUNDLE_INVALID');
  assert.equal(code(() => encodeBundle({ ...bundle, check: 'abcd' })), 'BUNDLE_INVALID');
  assert.equal(code(() => encodeBundle({ ...bundle, user: 'Alice' })), 'BUNDLE_INVALID');
  assert.equal(code(() => encodeBundle({ ...bundle, services: { 'Bad name': 1 } })), 'BUNDLE_INVALID');
  const base = jsonOf(text);
  assert.equal(code(() => decodeBundle(withJson({ ...base, extra: 1 }))), 'BUNDLE_INVALID');
  const { check: _c, ...noCheck } = base;
  assert.equal(code(() => decodeBundle(withJson(noCheck))), 'BUNDLE_INVALID');
  assert.equal(code(() => decodeBundle(withJson({ ...base, kdf: { ...(base.kdf as object), extra: 1 } }))), 'BUNDLE_INVALID');
  assert.equal(code(() => decodeBundle(withJson({ ...base, seq: '9c419c419f49000000' }))), 'BUNDLE_INVALID');
});

test('the keyed check: the right key matches; a wrong key, or any changed field, does not (outside 2^-12 odds)', async () => {
  const kdf = { salt: Buffer.alloc(16, 1), N: 1 << 14, r: 8, p: 1 };
  const key = await deriveDeviceKey('correct horse battery', kdf);
  const fields = { ...bundle, kdf };
  const b = decodeBundle(encodeBundle({ ...fields, check: bundleCheck(key, fields) }));
  assert.equal(bundleCheckMatches(key, b), true);
  const wrong = await deriveDeviceKey('correct horse batterY', kdf);
  assert.equal(bundleCheckMatches(wrong, b), false);
  // A swapped bundle (another gateway, same salt and sequence) does not carry the right check.
  const swapped = { ...b, gateways: [['203.0.113.66']] };
  assert.equal(bundleCheckMatches(key, swapped), false);
  for (const changed of [{ user: 'bob' }, { device: 'phone' }, { services: { ssh: 2, db: 1 } }, { issuedAtMs: b.issuedAtMs + 1 },
    { sequence: { ports: [40001, 40002, 40004], tags: [1, 2, 3] } }, { gateways: [['198.51.100.1'], ['192.0.2.1', '2001:db8::1']] }] as const) {
    assert.notEqual(bundleCheck(key, { ...b, ...changed } as BundleFields), b.check, JSON.stringify(changed));
  }
});

test('a wrong key passes the 12-bit check with odds near 2^-12 (10,000 random keys)', () => {
  let passed = 0;
  const rnd = seededBytes('k');
  for (let i = 0; i < 10_000; i++) if (bundleCheckMatches(rnd(16), bundle)) passed++;
  assert.ok(passed <= 12, `${passed} of 10,000 random keys passed (expected about 2.4)`);
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

test('password length counts code points of the NFC form, on every side', () => {
  assert.equal(passwordChars('e\u0301'.repeat(12)), 12); // 12 decomposed "é" become 12 code points
  assert.equal(passwordChars('😀'.repeat(12)), 12); // 24 UTF-16 units, 12 characters
  assert.doesNotThrow(() => checkPasswordStrength('😀'.repeat(12)));
  assert.equal(code(() => checkPasswordStrength('😀'.repeat(11))), 'KDF_WEAK_PASSWORD');
  assert.equal(code(() => checkPasswordStrength('e\u0301'.repeat(11))), 'KDF_WEAK_PASSWORD');
});

/** Byte-exact format-2 enrollment bundle vector: the check input, the keyed check, the text, and an independent node:crypto check. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { bundleCheck, bundleCheckInput, bundleCheckMatches, decodeBundle, encodeBundle, type BundleFields } from '../../shared/protocol/bundle.js';
import { keyCheck } from '../../shared/protocol/check.js';
import { sequenceFromKey, sequenceKey } from '../../shared/protocol/sequence.js';
import { independentBundleCheckInput, independentCheck } from './independent.js';

interface BundleVector {
  key: string;
  fields: { gateways: string[][]; user: string; device: string; kdf: { salt: string; N: number; r: number; p: number }; sequence: string; services: Record<string, number>; issuedAtMs: number };
  checkInput: string; check: string; keyCheck: string; text: string;
}
const v = JSON.parse(readFileSync(new URL('./bundle.json', import.meta.url), 'utf8')) as BundleVector;
const key = Buffer.from(v.key, 'hex');
const fields: BundleFields = {
  gateways: v.fields.gateways, user: v.fields.user, device: v.fields.device,
  kdf: { ...v.fields.kdf, salt: Buffer.from(v.fields.kdf.salt, 'hex') }, sequence: sequenceFromKey(Buffer.from(v.fields.sequence, 'hex')),
  services: v.fields.services, issuedAtMs: v.fields.issuedAtMs,
};

test('bundle vector: the check input and the check are byte-exact', () => {
  assert.equal(bundleCheckInput(fields).toString('hex'), v.checkInput);
  assert.equal(bundleCheck(key, fields), v.check);
  assert.equal(keyCheck(key), v.keyCheck);
});

test('bundle vector: an independent implementation (from docs/protocol.md §12) agrees', () => {
  const input = independentBundleCheckInput({
    gateways: v.fields.gateways, user: v.fields.user, device: v.fields.device, salt: Buffer.from(v.fields.kdf.salt, 'hex'),
    N: v.fields.kdf.N, r: v.fields.kdf.r, p: v.fields.kdf.p, seqKey: Buffer.from(v.fields.sequence, 'hex'), services: v.fields.services, issued: v.fields.issuedAtMs,
  });
  assert.equal(input.toString('hex'), v.checkInput);
  assert.equal(independentCheck(key, 'tumbler bundle2 check', input), v.check);
  assert.equal(independentCheck(key, 'tumbler key check'), v.keyCheck);
});

test('bundle vector: encodes to the exact text and decodes back to the fields and check', () => {
  assert.equal(encodeBundle({ ...fields, check: v.check }), v.text);
  const b = decodeBundle(v.text);
  assert.deepEqual({ ...b, sequence: sequenceKey(b.sequence).toString('hex') }, { ...fields, sequence: v.fields.sequence, check: v.check });
  assert.equal(bundleCheckMatches(key, b), true);
  assert.equal(bundleCheckMatches(Buffer.alloc(16, 0x55), b), false);
});

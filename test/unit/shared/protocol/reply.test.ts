import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeReplyPlaintext, encodeAddressReportPlaintext, openAnswer, openReply, replyKey, sealAddressReport, sealReply, type AddressReport, type Reply } from '../../../../shared/protocol/reply.js';
import { REPLY_BYTES } from '../../../../shared/protocol/constants.js';
import { codeOf } from '../../../helpers/error-code.js';

const key = replyKey(Buffer.alloc(16, 9));
const binding = { sequence: { ports: [40001, 40002, 40003] as [number, number, number], tags: [1, 2, 3] as [number, number, number] }, isns: Buffer.alloc(12, 0x42) };
const reply: Reply = { grantedPort: 50001, expiresAt: 1_800_000_030, next: { ports: [40100, 41000, 41999], tags: [9, 8, 7] }, serverTimeMs: 1_800_000_000_123, observed: { family: 6, bytes: Buffer.from('20010db8000000000000000000000002', 'hex') } };
let n = 0;
const random = (len: number) => Buffer.alloc(len, ++n);
const sealed = sealReply(key, reply, binding, random);

const code = codeOf;

test('seal/open round trip, 68 bytes', () => {
  assert.equal(sealed.length, REPLY_BYTES);
  assert.deepEqual(openReply(key, sealed, binding), reply);
  assert.deepEqual(openAnswer(key, sealed, binding), { kind: 'grant', ...reply });
});

test('two seals of the same reply differ (fresh nonce): no constant bytes', () => {
  const again = sealReply(key, reply, binding, random);
  let same = 0;
  for (let i = 0; i < sealed.length; i++) if (sealed[i] === again[i]) same++;
  assert.ok(same < 10);
});

test('every byte of the reply altered is rejected', () => {
  for (let i = 0; i < sealed.length; i++) {
    for (const x of [0x01, 0x80, 0xff]) {
      const t = Buffer.from(sealed);
      t[i]! ^= x;
      assert.equal(code(() => openReply(key, t, binding)), 'REPLY_AUTH', `byte ${i}`);
    }
  }
});

test('truncated, extended, wrong key, wrong binding are rejected with codes', () => {
  assert.equal(code(() => openReply(key, sealed.subarray(0, 67), binding)), 'REPLY_SHAPE');
  assert.equal(code(() => openReply(key, Buffer.concat([sealed, Buffer.alloc(1)]), binding)), 'REPLY_SHAPE');
  assert.equal(code(() => openReply(replyKey(Buffer.alloc(16, 1)), sealed, binding)), 'REPLY_AUTH');
  assert.equal(code(() => openReply(key, sealed, { ...binding, isns: Buffer.alloc(12, 0x43) })), 'REPLY_AUTH');
});

const report: AddressReport = { windowSec: 30, serverTimeMs: 1_800_000_000_456, observed: { family: 4, bytes: Buffer.from([203, 0, 113, 7]) } };

test('address report: seal/open round trip, 68 bytes, and every byte altered is rejected', () => {
  const s = sealAddressReport(key, report, binding, random);
  assert.equal(s.length, REPLY_BYTES);
  assert.deepEqual(openAnswer(key, s, binding), { kind: 'address', ...report });
  assert.equal(code(() => openReply(key, s, binding)), 'REPLY_SHAPE'); // a report is not a grant
  for (let i = 0; i < s.length; i++) {
    const t = Buffer.from(s);
    t[i]! ^= 0x10;
    assert.equal(code(() => openAnswer(key, t, binding)), 'REPLY_AUTH', `byte ${i}`);
  }
});

test('address report plaintext: status 1, window in bytes 2..3, zeros up to the server time; other layouts refused', () => {
  const p = encodeAddressReportPlaintext(report);
  assert.equal(p[1], 1);
  assert.equal(p.readUInt16BE(2), 30);
  assert.ok(p.subarray(4, 17).equals(Buffer.alloc(13)));
  for (const [off, v] of [[1, 2], [2, 0], [3, 0], [9, 1], [16, 1], [30, 1]] as const) {
    const t = Buffer.from(p);
    t[off] = v;
    if (off === 2) t[3] = 0; // window 0
    assert.equal(code(() => decodeReplyPlaintext(t)), 'REPLY_SHAPE', `offset ${off}`);
  }
  assert.equal(code(() => encodeAddressReportPlaintext({ ...report, windowSec: 0 })), 'REPLY_BAD_INPUT');
  assert.equal(code(() => encodeAddressReportPlaintext({ ...report, windowSec: 3601 })), 'REPLY_BAD_INPUT');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeKnock, encodeProbe, isProbe, knockKeys, reconstructTimestamp, verifyKnock, type Knock, type KnockPacket } from '../../../../shared/protocol/knock.js';
import { PROBE_WINDOW_SEC } from '../../../../shared/protocol/constants.js';
import type { Sequence } from '../../../../shared/protocol/sequence.js';
import { codeOf } from '../../../helpers/error-code.js';

const keys = knockKeys(Buffer.alloc(16, 7));
const sequence: Sequence = { ports: [40010, 40500, 41000], tags: [0x5a, 0xa5, 0x00] };
const addr = { family: 4 as const, bytes: Buffer.from([198, 51, 100, 2]) };
const now = 1_800_000_123;
const knock = encodeKnock({ keys, sequence, serviceId: 3, nowSec: now, boundAddress: addr });
const verify = (packets: readonly KnockPacket[], o: Partial<{ nowSec: number; observed: typeof addr | { family: 6; bytes: Buffer } }> = {}) =>
  verifyKnock({ keys, sequence, packets: [...packets].sort((a, b) => a.dstPort - b.dstPort) as unknown as Knock, observed: o.observed ?? addr, nowSec: o.nowSec ?? now, windowSec: 30 });

const code = codeOf;

test('a valid knock verifies to its declaration', () => {
  assert.deepEqual(verify(knock), { version: 1, flags: 0, serviceId: 3, timestamp: now });
});

test('packets in any order verify (the server sorts by port)', () => {
  assert.equal(verify([knock[2], knock[0], knock[1]]).serviceId, 3);
});

test('every one of the 144 bits flipped alone is rejected', () => {
  let rejected = 0;
  for (let pkt = 0; pkt < 3; pkt++) {
    for (let bit = 0; bit < 48; bit++) {
      const p = knock.map((k) => ({ ...k }));
      if (bit < 16) p[pkt]!.dstPort ^= 1 << bit;
      else p[pkt]!.isn = (p[pkt]!.isn ^ (1 << (bit - 16))) >>> 0;
      const c = code(() => verify(p));
      assert.notEqual(c, 'ACCEPTED', `packet ${pkt} bit ${bit}`);
      rejected++;
    }
  }
  assert.equal(rejected, 144);
});

test('a knock from a different source address than the bound one is rejected (MAC)', () => {
  assert.equal(code(() => verify(knock, { observed: { family: 4, bytes: Buffer.from([198, 51, 100, 3]) } })), 'KNOCK_MAC');
  assert.equal(code(() => verify(knock, { observed: { family: 6, bytes: Buffer.alloc(16, 1) } })), 'KNOCK_MAC');
});

test('timestamp window edges: exactly at ±window accepted, one second past rejected', () => {
  assert.equal(verify(knock, { nowSec: now + 30 }).timestamp, now);
  assert.equal(verify(knock, { nowSec: now - 30 }).timestamp, now);
  assert.equal(code(() => verify(knock, { nowSec: now + 31 })), 'KNOCK_STALE');
  assert.equal(code(() => verify(knock, { nowSec: now - 31 })), 'KNOCK_STALE');
});

test('timestamp reconstruction across the 2^16 boundary', () => {
  const t = 65536 * 27463 - 2; // two seconds before a wrap
  const k = encodeKnock({ keys, sequence, serviceId: 1, nowSec: t, boundAddress: addr });
  assert.equal(verify(k, { nowSec: t + 5 }).timestamp, t);
  assert.equal(reconstructTimestamp(65535, 65536 * 10 + 3), 65536 * 10 - 1);
  assert.equal(reconstructTimestamp(2, 65536 * 10 - 3), 65536 * 10 + 2);
});

test('another device key cannot verify the knock', () => {
  assert.equal(code(() => verifyKnock({ keys: knockKeys(Buffer.alloc(16, 8)), sequence, packets: knock, observed: addr, nowSec: now, windowSec: 30 })), 'KNOCK_MAC');
});

test('nothing is constant across knocks: two knocks with new sequences share no ISN', () => {
  const s2: Sequence = { ports: [40011, 40501, 41001], tags: [0x5b, 0xa6, 0x01] };
  const k2 = encodeKnock({ keys, sequence: s2, serviceId: 3, nowSec: now + 1, boundAddress: addr });
  for (let i = 0; i < 3; i++) assert.notEqual((k2[i]!.isn & 0xffffff), (knock[i]!.isn & 0xffffff));
});

test('bad inputs to encode give typed errors', () => {
  assert.equal(code(() => encodeKnock({ keys, sequence, serviceId: 0, nowSec: now, boundAddress: addr })), 'KNOCK_BAD_SERVICE');
  assert.equal(code(() => encodeKnock({ keys, sequence, serviceId: 64, nowSec: now, boundAddress: addr })), 'KNOCK_BAD_SERVICE');
  assert.equal(code(() => encodeKnock({ keys, sequence, serviceId: 1, nowSec: now, boundAddress: { family: 4, bytes: Buffer.alloc(16) } })), 'KNOCK_BAD_ADDRESS');
  assert.equal(code(() => encodeKnock({ keys, sequence: { ports: [3, 2, 1], tags: [0, 0, 0] }, serviceId: 1, nowSec: now, boundAddress: addr })), 'SEQUENCE_INVALID');
});

const probe = encodeProbe({ keys, sequence, nowSec: now });

test('a probe verifies from any source address: its MAC binds none', () => {
  for (const observed of [addr, { family: 4 as const, bytes: Buffer.from([203, 0, 113, 200]) }, { family: 6 as const, bytes: Buffer.alloc(16, 1) }]) {
    const d = verify(probe, { observed });
    assert.deepEqual(d, { version: 1, flags: 1, serviceId: 0, timestamp: now });
    assert.equal(isProbe(d), true);
  }
  assert.equal(isProbe(verify(knock)), false);
});

test('probe and knock of the same second differ in every ISN, and neither passes as the other', () => {
  for (let i = 0; i < 3; i++) assert.notEqual(probe[i]!.isn, knock[i]!.isn);
  // Flipping the flag bits in the ciphertext (bits 46..47 of S: packet 1, ISN bits 1..0) breaks the MAC.
  for (const x of [1, 2, 3]) {
    const p = probe.map((k) => ({ ...k }));
    const k = knock.map((q) => ({ ...q }));
    p[1]!.isn = (p[1]!.isn ^ x) >>> 0;
    k[1]!.isn = (k[1]!.isn ^ x) >>> 0;
    assert.equal(code(() => verify(p)), 'KNOCK_MAC');
    assert.equal(code(() => verify(k)), 'KNOCK_MAC');
  }
});

test('every one of the 144 bits of a probe flipped alone is rejected', () => {
  for (let pkt = 0; pkt < 3; pkt++) {
    for (let bit = 0; bit < 48; bit++) {
      const p = probe.map((k) => ({ ...k }));
      if (bit < 16) p[pkt]!.dstPort ^= 1 << bit;
      else p[pkt]!.isn = (p[pkt]!.isn ^ (1 << (bit - 16))) >>> 0;
      assert.notEqual(code(() => verify(p)), 'ACCEPTED', `packet ${pkt} bit ${bit}`);
    }
  }
});

test('a probe gets the wider probe window; a knock keeps the configured one', () => {
  assert.equal(verify(probe, { nowSec: now + PROBE_WINDOW_SEC }).timestamp, now);
  assert.equal(verify(probe, { nowSec: now - PROBE_WINDOW_SEC }).timestamp, now);
  assert.equal(code(() => verify(probe, { nowSec: now + PROBE_WINDOW_SEC + 1 })), 'KNOCK_STALE');
  assert.equal(code(() => verify(knock, { nowSec: now + 300 })), 'KNOCK_STALE');
});

test('another device key cannot verify a probe', () => {
  assert.equal(code(() => verifyKnock({ keys: knockKeys(Buffer.alloc(16, 8)), sequence, packets: probe, observed: addr, nowSec: now, windowSec: 30 })), 'KNOCK_MAC');
});

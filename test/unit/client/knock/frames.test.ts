/**
 * Recognising the server's SYN-ACK: only the exact answer to the knock's last packet passes
 * (addresses, swapped ports, flags exactly SYN+ACK, ack = ISN + 1, payload 1..512 bytes), for IPv4
 * and IPv6; and the knock frames (send order, source ports).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSynAck } from '../../../../shared/packet/tcp.js';
import { buildKnockFrames, ephemeralPorts } from '../../../../client/knock/frames.js';
import { describeSyn, matchReply, type SentSyn } from '../../../../client/knock/wire.js';
import type { Knock } from '../../../../shared/protocol/knock.js';
import { seededRandom } from './fake-server.js';

const v4: SentSyn = { family: 4, src: '198.51.100.2', dst: '192.0.2.1', srcPort: 45000, dstPort: 40900, isn: 0xfffffffe };
const v6: SentSyn = { family: 6, src: '2001:db8::2', dst: '2001:db8::1', srcPort: 45001, dstPort: 40901, isn: 0x12345678 };
const PAYLOAD = Buffer.alloc(68, 0xab);

function answer(s: SentSyn, o: Partial<{ src: string; dst: string; srcPort: number; dstPort: number; ack: number; payload: Buffer }> = {}): Buffer {
  return buildSynAck({
    family: s.family, src: o.src ?? s.dst, dst: o.dst ?? s.src, srcPort: o.srcPort ?? s.dstPort, dstPort: o.dstPort ?? s.srcPort,
    seq: 0x01020304, ack: o.ack ?? ((s.isn + 1) >>> 0), payload: o.payload ?? PAYLOAD, ipId: 7,
  });
}

describe('reply matching', () => {
  for (const s of [v4, v6]) {
    test(`IPv${s.family}: the exact answer passes; anything else is skipped`, () => {
      assert.deepEqual(matchReply(answer(s), s), PAYLOAD);
      assert.equal(matchReply(answer(s, { src: s.family === 4 ? '192.0.2.9' : '2001:db8::9' }), s), null);
      assert.equal(matchReply(answer(s, { dst: s.family === 4 ? '198.51.100.9' : '2001:db8::8' }), s), null);
      assert.equal(matchReply(answer(s, { srcPort: s.dstPort + 1 }), s), null);
      assert.equal(matchReply(answer(s, { dstPort: s.srcPort + 1 }), s), null);
      assert.equal(matchReply(answer(s, { ack: s.isn }), s), null);
      assert.equal(matchReply(answer(s, { payload: Buffer.alloc(0) }), s), null);
      assert.equal(matchReply(answer(s, { payload: Buffer.alloc(513, 1) }), s), null);
      assert.deepEqual(matchReply(answer(s, { payload: Buffer.alloc(512, 1) }), s), Buffer.alloc(512, 1));
      assert.equal(matchReply(Buffer.from([0x45, 0, 0]), s), null);
    });
  }

  test('the ack wraps around 2^32', () => {
    assert.equal(v4.isn + 1, 0xffffffff);
    const s = { ...v4, isn: 0xffffffff };
    assert.deepEqual(matchReply(answer(s, { ack: 0 }), s), PAYLOAD);
  });
});

describe('knock frames', () => {
  test('three distinct ephemeral source ports', () => {
    const r = seededRandom(11);
    for (let i = 0; i < 200; i++) {
      const p = ephemeralPorts(r);
      assert.equal(new Set(p).size, 3);
      for (const x of p) assert.ok(x >= 32768 && x <= 60999);
    }
  });

  test('the packet to ports[2] goes last; the first two come in either order', () => {
    const knock = [{ dstPort: 40001, isn: 1 }, { dstPort: 40002, isn: 2 }, { dstPort: 40003, isn: 3 }] as unknown as Knock;
    const r = seededRandom(5);
    const firsts = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const f = buildKnockFrames(4, '198.51.100.2', '192.0.2.1', knock, r);
      const syns = f.packets.map(describeSyn);
      assert.equal(syns[2]!.dstPort, 40003);
      assert.equal(syns[2]!.isn, 3);
      assert.equal(syns[2]!.srcPort, f.srcPorts[2]);
      firsts.add(syns[0]!.dstPort);
    }
    assert.deepEqual([...firsts].sort(), [40001, 40002]);
  });
});

/**
 * Recognising the server's SYN-ACK (shared/packet/synack-match.ts): only the exact answer to the
 * knock's last packet passes (addresses, swapped ports, flags exactly SYN+ACK, ack = ISN + 1,
 * payload 1..512 bytes), for IPv4 and IPv6, as a full packet or as the bare segment an IPv6 raw
 * socket delivers.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildSynAck, chooseSynShape, buildSyn, describeSyn, ipv6PacketAround, synAckPayload, synAckPayloadFromSegment, type SentSyn,
} from '../../../../shared/packet/tcp.js';
import { fixedRandom, throwsCode } from './helpers.js';

const v4: SentSyn = { family: 4, src: '198.51.100.2', dst: '192.0.2.1', srcPort: 45000, dstPort: 40900, isn: 0xfffffffe };
const v6: SentSyn = { family: 6, src: '2001:db8::2', dst: '2001:db8::1', srcPort: 45001, dstPort: 40901, isn: 0x12345678 };
const PAYLOAD = Buffer.alloc(68, 0xab);

type Over = Partial<{ src: string; dst: string; srcPort: number; dstPort: number; ack: number; payload: Buffer }>;
function answer(s: SentSyn, o: Over = {}): Buffer {
  return buildSynAck({
    family: s.family, src: o.src ?? s.dst, dst: o.dst ?? s.src, srcPort: o.srcPort ?? s.dstPort, dstPort: o.dstPort ?? s.srcPort,
    seq: 0x01020304, ack: o.ack ?? ((s.isn + 1) >>> 0), payload: o.payload ?? PAYLOAD, ipId: 7,
  });
}
/** The same answer with extra TCP flag bits (checksum fixed up by rebuilding is not possible: patch and re-sum). */
function withFlags(pkt: Buffer, flags: number): Buffer {
  const b = Buffer.from(pkt);
  const tcp = b[0]! >> 4 === 4 ? 20 : 40;
  const old = b.readUInt16BE(tcp + 12);
  b[tcp + 13] = flags;
  const now = b.readUInt16BE(tcp + 12);
  // RFC 1624 incremental update: HC' = ~(~HC + ~m + m').
  let sum = (~b.readUInt16BE(tcp + 16) & 0xffff) + (~old & 0xffff) + now;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, tcp + 16);
  return b;
}

describe('synAckPayload', () => {
  for (const s of [v4, v6]) {
    test(`IPv${s.family}: the exact answer passes; anything else is skipped`, () => {
      assert.deepEqual(synAckPayload(answer(s), s), PAYLOAD);
      assert.equal(synAckPayload(answer(s, { src: s.family === 4 ? '192.0.2.9' : '2001:db8::9' }), s), null);
      assert.equal(synAckPayload(answer(s, { dst: s.family === 4 ? '198.51.100.9' : '2001:db8::8' }), s), null);
      assert.equal(synAckPayload(answer(s, { srcPort: s.dstPort + 1 }), s), null);
      assert.equal(synAckPayload(answer(s, { dstPort: s.srcPort + 1 }), s), null);
      assert.equal(synAckPayload(answer(s, { ack: s.isn }), s), null);
      assert.equal(synAckPayload(answer(s, { payload: Buffer.alloc(0) }), s), null);
      assert.equal(synAckPayload(answer(s, { payload: Buffer.alloc(513, 1) }), s), null);
      assert.deepEqual(synAckPayload(answer(s, { payload: Buffer.alloc(512, 1) }), s), Buffer.alloc(512, 1));
      assert.deepEqual(synAckPayload(withFlags(answer(s), 0x12), s), PAYLOAD, 'the flag patch keeps a valid packet');
      assert.equal(synAckPayload(withFlags(answer(s), 0x52), s), null, 'SYN+ACK+ECE');
      assert.equal(synAckPayload(withFlags(answer(s), 0x10), s), null, 'ACK only');
      assert.equal(synAckPayload(Buffer.from([0x45, 0, 0]), s), null);
      const corrupt = answer(s);
      corrupt[corrupt.length - 1]! ^= 1;
      assert.equal(synAckPayload(corrupt, s), null, 'bad checksum');
    });
  }

  test('the ack wraps around 2^32', () => {
    const s = { ...v4, isn: 0xffffffff };
    assert.deepEqual(synAckPayload(answer(s, { ack: 0 }), s), PAYLOAD);
  });

  test('the payload is a copy', () => {
    const pkt = answer(v4);
    const got = synAckPayload(pkt, v4)!;
    pkt.fill(0);
    assert.deepEqual(got, PAYLOAD);
  });
});

describe('synAckPayloadFromSegment (IPv6 raw receive: no IP header)', () => {
  const segment = (o: Over = {}) => answer(v6, o).subarray(40);
  test('the segment of the exact answer passes, checked against the sender\'s address', () => {
    assert.deepEqual(synAckPayloadFromSegment(segment(), '2001:db8::1', v6), PAYLOAD);
    assert.deepEqual(synAckPayloadFromSegment(segment(), '2001:db8::1%eth0', v6), PAYLOAD, 'zone suffix ignored');
    assert.equal(synAckPayloadFromSegment(segment(), '2001:db8::9', v6), null, 'another sender (pseudo-header checksum fails too)');
    assert.equal(synAckPayloadFromSegment(segment({ ack: 1 }), '2001:db8::1', v6), null);
    assert.equal(synAckPayloadFromSegment(segment(), 'not an address', v6), null);
    assert.equal(synAckPayloadFromSegment(answer(v4).subarray(20), '192.0.2.1', v4), null, 'IPv4 receive carries its header');
  });

  test('ipv6PacketAround: hop limit 64, next header TCP, payload length, addresses', () => {
    const seg = segment();
    const p = ipv6PacketAround(seg, '2001:db8::1', '2001:db8::2');
    assert.equal(p.length, 40 + seg.length);
    assert.equal(p.readUInt32BE(0), 0x60000000);
    assert.equal(p.readUInt16BE(4), seg.length);
    assert.deepEqual([p[6], p[7]], [6, 64]);
    assert.deepEqual(p.subarray(40), seg);
    throwsCode(() => ipv6PacketAround(seg, '192.0.2.1', '2001:db8::2'), 'ADDRESS_INVALID');
    throwsCode(() => ipv6PacketAround(Buffer.alloc(65_535 - 39), '2001:db8::1', '2001:db8::2'), 'PACKET_BUILD_INVALID');
  });
});

test('describeSyn reads back what a SYN was built from', () => {
  for (const s of [v4, v6]) {
    const pkt = buildSyn({ ...s, shape: chooseSynShape(s.family, fixedRandom('0102030405060708')) });
    assert.deepEqual(describeSyn(pkt), s);
  }
  throwsCode(() => describeSyn(Buffer.from([0x45])), 'PACKET_TRUNCATED');
});

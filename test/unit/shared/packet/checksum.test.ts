/** Internet checksum and TCP pseudo-header sums against known answers and an independent implementation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fold, internetChecksum, onesSum, tcpChecksum } from '../../../../shared/packet/checksum.js';
import { buildSyn, buildSynAck } from '../../../../shared/packet/tcp.js';
import { chooseSynShape } from '../../../../shared/packet/syn-shape.js';
import { fixedRandom, refChecksum, refTcpChecksum } from './helpers.js';

test('RFC 1071 §3 example: words 0001 f203 f4f5 f6f7 sum to ddf2, checksum 220d', () => {
  const b = Buffer.from('0001f203f4f5f6f7', 'hex');
  assert.equal(fold(onesSum(b, 0, b.length)), 0xddf2);
  assert.equal(internetChecksum(b), 0x220d);
});

test('a textbook IPv4 header checksums to b861, and verifies to 0 with the field in place', () => {
  const h = Buffer.from('450000730000400040110000c0a80001c0a800c7', 'hex');
  assert.equal(internetChecksum(h), 0xb861);
  h.writeUInt16BE(0xb861, 10);
  assert.equal(internetChecksum(h), 0);
});

test('odd lengths pad the last byte with zero; sub-ranges sum only their bytes', () => {
  assert.equal(internetChecksum(Buffer.from([0x12])), ~0x1200 & 0xffff);
  assert.equal(internetChecksum(Buffer.from([0xff, 0x12, 0x34, 0x56, 0xff]), 1, 4), refChecksum(Buffer.from([0x12, 0x34, 0x56])));
  assert.equal(internetChecksum(Buffer.alloc(0)), 0xffff);
});

test('internetChecksum equals the independent implementation on random data of every length 0..300', () => {
  const r = fixedRandom('9e3779b97f4a7c15f39cc0605cedc834');
  for (let len = 0; len <= 300; len++) {
    const b = r(len);
    assert.equal(internetChecksum(b), refChecksum(b), `length ${len}`);
  }
  const big = Buffer.alloc(65535, 0xff); // worst case for carries
  assert.equal(internetChecksum(big), refChecksum(big));
});

test('built SYN / SYN-ACK TCP checksums equal an explicit pseudo-header computation (v4 and v6)', () => {
  const r = fixedRandom('0123456789abcdeffedcba9876543210');
  for (let i = 0; i < 50; i++) {
    const syn4 = buildSyn({ family: 4, src: '192.0.2.1', dst: '198.51.100.9', srcPort: 1000 + i, dstPort: 40000 + i, isn: r(4).readUInt32BE(0), shape: chooseSynShape(4, r) });
    const syn6 = buildSyn({ family: 6, src: '2001:db8::1', dst: '2001:db8:ffff::9', srcPort: 1000 + i, dstPort: 40000 + i, isn: r(4).readUInt32BE(0), shape: chooseSynShape(6, r) });
    const ack4 = buildSynAck({ family: 4, src: '203.0.113.1', dst: '192.0.2.1', srcPort: 40000, dstPort: 1000, seq: i, ack: i * 7, payload: r(i * 10) });
    const ack6 = buildSynAck({ family: 6, src: '2001:db8::2', dst: '2001:db8::1', srcPort: 40000, dstPort: 1000, seq: i, ack: i * 7, payload: r(i * 10 + 1) });
    for (const [pkt, tcp] of [[syn4, 20], [syn6, 40], [ack4, 20], [ack6, 40]] as const) {
      assert.equal(pkt.readUInt16BE(tcp + 16), refTcpChecksum(pkt));
      const v4 = tcp === 20;
      assert.equal(tcpChecksum(pkt, v4 ? 12 : 8, v4 ? 16 : 24, v4 ? 4 : 16, tcp, pkt.length - tcp), 0);
    }
    for (const pkt of [syn4, ack4]) {
      const h = Buffer.from(pkt.subarray(0, 20));
      const stored = h.readUInt16BE(10);
      h.writeUInt16BE(0, 10);
      assert.equal(stored, refChecksum(h));
    }
  }
});

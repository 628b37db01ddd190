/** Build → parse round trips for SYN and SYN-ACK, the Linux option layout, link layers, build errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseSynShape } from '../../../../shared/packet/syn-shape.js';
import { buildSyn, buildSynAck, decodeTcpOptions, parseFrame, parseIpTcp, type LinkType } from '../../../../shared/packet/tcp.js';
import { fixedRandom, throwsCode } from './helpers.js';

const R = () => fixedRandom('3c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19');
const V4 = { family: 4 as const, src: '198.51.100.23', dst: '192.0.2.200', srcPort: 43210, dstPort: 40500 };
const V6 = { family: 6 as const, src: '2001:db8:10::23', dst: '2001:db8:0:0:0:0:0:c8', srcPort: 43210, dstPort: 40500 };

test('SYN v4 round trip: fields, flags exactly SYN, ACK 0, Linux options, no payload', () => {
  const shape = chooseSynShape(4, R());
  const pkt = buildSyn({ ...V4, isn: 0xfedcba98, shape });
  assert.equal(pkt.length, 60);
  const p = parseIpTcp(pkt);
  assert.deepEqual({ ...p, tcpOptions: null, payload: null }, {
    family: 4, src: V4.src, dst: V4.dst, srcPort: V4.srcPort, dstPort: V4.dstPort, seq: 0xfedcba98, ack: 0, flags: 0x02,
    window: 64240, ttl: 64, ipId: shape.ipId, tcpOptions: null, payload: null,
  });
  assert.equal(p.payload.length, 0);
  assert.equal(pkt[12 + 20]! >> 4, 10, 'data offset 10');
  assert.equal(pkt.readUInt16BE(6), 0x4000, 'DF, no fragment');
  assert.equal(pkt[1], 0, 'TOS 0');
  assert.deepEqual(decodeTcpOptions(p.tcpOptions), {
    order: [2, 4, 8, 1, 3], mss: 1460, sackPermitted: true, wscale: 7, timestamp: { tsVal: shape.tsVal, tsEcr: 0 },
  });
});

test('SYN v6 round trip: canonical addresses, hop limit, flow label, Linux options', () => {
  const shape = chooseSynShape(6, R());
  const pkt = buildSyn({ ...V6, isn: 7, shape });
  assert.equal(pkt.length, 80);
  const p = parseIpTcp(pkt);
  assert.equal(p.family, 6);
  assert.equal(p.src, '2001:db8:10::23');
  assert.equal(p.dst, '2001:db8::c8');
  assert.equal(p.seq, 7);
  assert.equal(p.flags, 0x02);
  assert.equal(p.window, 64800);
  assert.equal(p.ttl, 64);
  assert.equal(p.ipId, 0);
  assert.equal(pkt.readUInt32BE(0), ((6 << 28) | shape.flowLabel) >>> 0, 'version 6, traffic class 0, flow label');
  assert.deepEqual(decodeTcpOptions(p.tcpOptions), {
    order: [2, 4, 8, 1, 3], mss: 1440, sackPermitted: true, wscale: 7, timestamp: { tsVal: shape.tsVal, tsEcr: 0 },
  });
});

test('SYN without SACK-permitted writes NOP NOP before the timestamp, as Linux does', () => {
  const shape = { ...chooseSynShape(4, R()), sackPermitted: false };
  const p = parseIpTcp(buildSyn({ ...V4, isn: 1, shape }));
  assert.deepEqual(decodeTcpOptions(p.tcpOptions).order, [2, 1, 1, 8, 1, 3]);
});

test('SYN option layouts follow Linux for every combination of timestamps, SACK and window scaling', () => {
  const cases: Array<[{ timestamps: boolean; sackPermitted: boolean; wscale: number | null }, number[], number]> = [
    [{ timestamps: true, sackPermitted: true, wscale: 10 }, [2, 4, 8, 1, 3], 20],
    [{ timestamps: true, sackPermitted: false, wscale: 10 }, [2, 1, 1, 8, 1, 3], 20],
    [{ timestamps: false, sackPermitted: true, wscale: 10 }, [2, 1, 1, 4, 1, 3], 12],
    [{ timestamps: false, sackPermitted: false, wscale: 10 }, [2, 1, 3], 8],
    [{ timestamps: true, sackPermitted: true, wscale: null }, [2, 4, 8], 16],
    [{ timestamps: false, sackPermitted: false, wscale: null }, [2], 4],
  ];
  for (const [o, order, len] of cases) {
    const shape = { ...chooseSynShape(6, R()), ...o };
    const p = parseIpTcp(buildSyn({ ...V6, isn: 1, shape }));
    assert.equal(p.tcpOptions.length, len, JSON.stringify(o));
    const d = decodeTcpOptions(p.tcpOptions);
    assert.deepEqual(d.order, order, JSON.stringify(o));
    assert.equal(d.wscale, o.wscale ?? undefined);
    assert.equal(d.sackPermitted, o.sackPermitted);
    assert.equal(d.timestamp?.tsVal, o.timestamps ? shape.tsVal : undefined);
  }
});

test('negative int32 ISN is taken modulo 2^32', () => {
  const p = parseIpTcp(buildSyn({ ...V4, isn: -1, shape: chooseSynShape(4, R()) }));
  assert.equal(p.seq, 0xffffffff);
});

test('SYN-ACK round trips with payloads of 0, 1, 100 and 512 bytes (v4 and v6)', () => {
  const r = R();
  for (const base of [V4, V6]) {
    for (const len of [0, 1, 100, 512]) {
      const payload = r(len);
      const pkt = buildSynAck({ ...base, seq: 0x80000000, ack: 0xfedcba99, payload });
      const p = parseIpTcp(pkt);
      assert.equal(p.flags, 0x12);
      assert.equal(p.seq, 0x80000000);
      assert.equal(p.ack, 0xfedcba99);
      assert.deepEqual(p.payload, payload);
      assert.deepEqual(decodeTcpOptions(p.tcpOptions), { order: [2], mss: base.family === 4 ? 1460 : 1440, sackPermitted: false });
      assert.equal(p.window, base.family === 4 ? 65160 : 64800);
      assert.equal(p.ttl, 64);
      assert.equal(p.ipId, 0);
      assert.equal(pkt.length, (base.family === 4 ? 20 : 40) + 24 + len);
    }
  }
});

test('SYN-ACK payloads beyond the protocol limit of 512 bytes still build (for receiver tests), up to one IP packet', () => {
  for (const [base, max] of [[V4, 65535 - 20 - 24], [V6, 65535 - 40 - 24]] as const) {
    for (const len of [513, max]) {
      const pkt = buildSynAck({ ...base, seq: 1, ack: 2, payload: Buffer.alloc(len, 7) });
      assert.equal(pkt.length, 65535 - max + len);
      assert.equal(parseIpTcp(pkt).payload.length, len);
    }
  }
});

test('SYN-ACK honours ttl, ipId, window and flowLabel', () => {
  const p4 = parseIpTcp(buildSynAck({ ...V4, seq: 1, ack: 2, payload: Buffer.from('x'), ttl: 255, ipId: 0xabcd, window: 1024 }));
  assert.deepEqual([p4.ttl, p4.ipId, p4.window], [255, 0xabcd, 1024]);
  const pkt6 = buildSynAck({ ...V6, seq: 1, ack: 2, payload: Buffer.from('x'), ttl: 1, flowLabel: 0xfffff, ipId: 5 });
  assert.equal(pkt6.readUInt32BE(0) & 0xfffff, 0xfffff);
  assert.equal(parseIpTcp(pkt6).ipId, 0);
});

test('parsed options and payload are copies, not views of the input', () => {
  const pkt = buildSynAck({ ...V4, seq: 1, ack: 2, payload: Buffer.from('abc') });
  const p = parseIpTcp(pkt);
  pkt.fill(0);
  assert.equal(p.payload.toString(), 'abc');
  assert.equal(p.tcpOptions[0], 2);
});

test('Ethernet padding after the IP length is ignored', () => {
  const pkt = buildSyn({ ...V4, isn: 9, shape: chooseSynShape(4, R()) });
  const p = parseIpTcp(Buffer.concat([pkt, Buffer.alloc(6, 0xee)]));
  assert.equal(p.seq, 9);
  assert.equal(p.payload.length, 0);
});

test('parseFrame strips Ethernet (with and without 802.1Q), Linux cooked v1/v2 and raw', () => {
  const syn4 = buildSyn({ ...V4, isn: 41, shape: chooseSynShape(4, R()) });
  const syn6 = buildSyn({ ...V6, isn: 61, shape: chooseSynShape(6, R()) });
  const eth = (type: number, ip: Buffer, vlan = false) => {
    const h = Buffer.alloc(vlan ? 18 : 14, 0xaa);
    if (vlan) { h.writeUInt16BE(0x8100, 12); h.writeUInt16BE(0x0064, 14); h.writeUInt16BE(type, 16); } else h.writeUInt16BE(type, 12);
    return Buffer.concat([h, ip]);
  };
  const sll = (type: number, ip: Buffer) => { const h = Buffer.alloc(16, 0x11); h.writeUInt16BE(type, 14); return Buffer.concat([h, ip]); };
  const sll2 = (type: number, ip: Buffer) => { const h = Buffer.alloc(20, 0x22); h.writeUInt16BE(type, 0); return Buffer.concat([h, ip]); };
  const cases: [Buffer, LinkType, number][] = [
    [eth(0x0800, syn4), 'EN10MB', 41], [eth(0x86dd, syn6), 'EN10MB', 61],
    [eth(0x0800, syn4, true), 'EN10MB', 41], [eth(0x86dd, syn6, true), 'EN10MB', 61],
    [sll(0x0800, syn4), 'LINUX_SLL', 41], [sll(0x86dd, syn6), 'LINUX_SLL', 61],
    [sll2(0x0800, syn4), 'LINUX_SLL2', 41], [sll2(0x86dd, syn6), 'LINUX_SLL2', 61],
    [syn4, 'RAW', 41], [syn6, 'RAW', 61],
  ];
  for (const [frame, link, isn] of cases) assert.equal(parseFrame(frame, link).seq, isn, link);
  // Non-IP ethertypes, and an ethertype that disagrees with the IP version.
  throwsCode(() => parseFrame(eth(0x0806, syn4), 'EN10MB'), 'PACKET_NOT_IP');
  throwsCode(() => parseFrame(eth(0x8100, syn4, true), 'EN10MB'), 'PACKET_NOT_IP'); // a second tag
  throwsCode(() => parseFrame(sll(0x0806, syn4), 'LINUX_SLL'), 'PACKET_NOT_IP');
  throwsCode(() => parseFrame(sll2(0x88cc, syn4), 'LINUX_SLL2'), 'PACKET_NOT_IP');
  throwsCode(() => parseFrame(eth(0x0800, syn6), 'EN10MB'), 'PACKET_BAD_VERSION');
  throwsCode(() => parseFrame(sll(0x86dd, syn4), 'LINUX_SLL'), 'PACKET_BAD_VERSION');
  // Short link headers.
  throwsCode(() => parseFrame(Buffer.alloc(13), 'EN10MB'), 'PACKET_TRUNCATED');
  throwsCode(() => parseFrame(Buffer.from('00000000000000000000000081000064', 'hex'), 'EN10MB'), 'PACKET_TRUNCATED');
  throwsCode(() => parseFrame(Buffer.alloc(15), 'LINUX_SLL'), 'PACKET_TRUNCATED');
  throwsCode(() => parseFrame(Buffer.alloc(19), 'LINUX_SLL2'), 'PACKET_TRUNCATED');
  throwsCode(() => parseFrame(eth(0x0800, Buffer.alloc(0)), 'EN10MB'), 'PACKET_TRUNCATED');
  throwsCode(() => parseFrame(syn4, 'PPP' as LinkType), 'PACKET_LINK_TYPE');
  // Oversize counts the IP part: 65535 bytes after the link header is still allowed in size.
  const big = Buffer.alloc(14 + 65535);
  big.writeUInt16BE(0x0800, 12);
  syn4.copy(big, 14);
  assert.equal(parseFrame(big, 'EN10MB').seq, 41);
  throwsCode(() => parseFrame(Buffer.concat([big, Buffer.alloc(1)]), 'EN10MB'), 'PACKET_OVERSIZE');
});

test('verifyChecksum: false accepts bad checksums; the default rejects them', () => {
  const pkt = buildSyn({ ...V4, isn: 3, shape: chooseSynShape(4, R()) });
  pkt.writeUInt16BE(pkt.readUInt16BE(36) ^ 0xffff, 36);
  throwsCode(() => parseIpTcp(pkt), 'PACKET_CHECKSUM');
  assert.equal(parseIpTcp(pkt, { verifyChecksum: false }).seq, 3);
  assert.equal(parseFrame(pkt, 'RAW', { verifyChecksum: false }).seq, 3);
});

test('build rejects bad arguments with PACKET_BUILD_INVALID / ADDRESS_INVALID', () => {
  const shape4 = chooseSynShape(4, R());
  const shape6 = chooseSynShape(6, R());
  throwsCode(() => buildSyn({ ...V4, isn: 1, shape: shape6 }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSyn({ ...V4, family: 6, isn: 1, shape: shape6 }), 'ADDRESS_INVALID');
  throwsCode(() => buildSyn({ ...V4, src: 'example.org', isn: 1, shape: shape4 }), 'ADDRESS_INVALID');
  throwsCode(() => buildSyn({ ...V4, srcPort: 65536, isn: 1, shape: shape4 }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSyn({ ...V4, dstPort: 1.5, isn: 1, shape: shape4 }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSyn({ ...V4, isn: 2 ** 32, shape: shape4 }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSyn({ ...V4, isn: 1, shape: { ...shape4, wscale: 15 } }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSyn({ ...V4, family: 5 as 4, isn: 1, shape: shape4 }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSynAck({ ...V4, seq: 1, ack: 1, payload: Buffer.alloc(65535 - 20 - 24 + 1) }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSynAck({ ...V6, seq: 1, ack: 1, payload: Buffer.alloc(65535 - 40 - 24 + 1) }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSynAck({ ...V4, seq: 1, ack: 1, payload: 'x' as unknown as Buffer }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSynAck({ ...V4, seq: NaN, ack: 1, payload: Buffer.alloc(1) }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSynAck({ ...V4, seq: 1, ack: 1, payload: Buffer.alloc(1), ttl: 256 }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSynAck({ ...V6, seq: 1, ack: 1, payload: Buffer.alloc(1), flowLabel: 0x100000 }), 'PACKET_BUILD_INVALID');
  throwsCode(() => buildSynAck({ ...V6, dst: '192.0.2.1', seq: 1, ack: 1, payload: Buffer.alloc(1) }), 'ADDRESS_INVALID');
});

test('IPv4-mapped IPv6 addresses are accepted for IPv6 packets', () => {
  const p = parseIpTcp(buildSynAck({ ...V6, dst: '::ffff:192.0.2.1', seq: 1, ack: 1, payload: Buffer.alloc(1) }));
  assert.equal(p.dst, '::ffff:c000:201');
});

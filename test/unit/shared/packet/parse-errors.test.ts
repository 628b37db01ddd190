/** Every PACKET_* error of parseIpTcp, each from a hand-crafted buffer with valid checksums elsewhere. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseSynShape } from '../../../../shared/packet/syn-shape.js';
import { buildSyn, buildSynAck, parseIpTcp } from '../../../../shared/packet/tcp.js';
import { fixChecksums, fixedRandom, throwsCode } from './helpers.js';

const syn4 = () => buildSyn({ family: 4, src: '192.0.2.1', dst: '192.0.2.2', srcPort: 50000, dstPort: 40000, isn: 1, shape: chooseSynShape(4, fixedRandom('0102030405060708')) });
const syn6 = () => buildSyn({ family: 6, src: '2001:db8::1', dst: '2001:db8::2', srcPort: 50000, dstPort: 40000, isn: 1, shape: chooseSynShape(6, fixedRandom('0102030405060708')) });
const ack4 = () => buildSynAck({ family: 4, src: '192.0.2.2', dst: '192.0.2.1', srcPort: 40000, dstPort: 50000, seq: 1, ack: 2, payload: Buffer.from('payload') });

/** Apply `edit` to a fresh packet, repair checksums, and expect `code`. */
function crafted(base: () => Buffer, edit: (b: Buffer) => Buffer | void, code: string): void {
  const b = base();
  const out = edit(b) ?? b;
  throwsCode(() => parseIpTcp(fixChecksums(out)), code);
}

test('the unedited packets parse (the baseline for every case below)', () => {
  for (const b of [syn4(), syn6(), ack4()]) assert.doesNotThrow(() => parseIpTcp(fixChecksums(b)));
});

test('PACKET_OVERSIZE: a buffer over 65535 bytes', () => {
  throwsCode(() => parseIpTcp(Buffer.concat([syn4(), Buffer.alloc(65536 - 60)])), 'PACKET_OVERSIZE');
  assert.doesNotThrow(() => parseIpTcp(Buffer.concat([syn4(), Buffer.alloc(65535 - 60)])));
});

test('PACKET_TRUNCATED: empty, short IP headers, IP payload shorter than a TCP header', () => {
  throwsCode(() => parseIpTcp(Buffer.alloc(0)), 'PACKET_TRUNCATED');
  throwsCode(() => parseIpTcp(syn4().subarray(0, 19)), 'PACKET_TRUNCATED');
  throwsCode(() => parseIpTcp(syn6().subarray(0, 39)), 'PACKET_TRUNCATED');
  // IPv4: total length 39 (TCP part 19 bytes), consistent with the buffer.
  const t4 = syn4().subarray(0, 39);
  t4.writeUInt16BE(39, 2);
  fixChecksums(t4);
  throwsCode(() => parseIpTcp(t4), 'PACKET_TRUNCATED');
  const t6 = syn6().subarray(0, 40 + 19);
  t6.writeUInt16BE(19, 4);
  throwsCode(() => parseIpTcp(t6), 'PACKET_TRUNCATED');
});

test('PACKET_BAD_VERSION: version nibble not 4 or 6', () => {
  for (const v of [0, 1, 5, 7, 15]) crafted(syn4, (b) => { b[0] = (v << 4) | 5; }, 'PACKET_BAD_VERSION');
  throwsCode(() => parseIpTcp(Buffer.from([0x00])), 'PACKET_BAD_VERSION');
});

test('PACKET_BAD_LENGTH: IP total/payload length past the buffer or below the header; TCP data offset < 5 or past the end', () => {
  crafted(syn4, (b) => { b.writeUInt16BE(61, 2); }, 'PACKET_BAD_LENGTH');
  crafted(syn4, (b) => { b.writeUInt16BE(19, 2); }, 'PACKET_BAD_LENGTH');
  crafted(syn4, (b) => { b.writeUInt16BE(0xffff, 2); }, 'PACKET_BAD_LENGTH');
  crafted(syn6, (b) => { b.writeUInt16BE(41, 4); }, 'PACKET_BAD_LENGTH');
  crafted(syn6, (b) => { b.writeUInt16BE(0xffff, 4); }, 'PACKET_BAD_LENGTH');
  crafted(syn4, (b) => { b[32] = (4 << 4); }, 'PACKET_BAD_LENGTH');
  crafted(syn4, (b) => { b[32] = (0 << 4); }, 'PACKET_BAD_LENGTH');
  crafted(syn4, (b) => { b[32] = (11 << 4); }, 'PACKET_BAD_LENGTH'); // 44 > 40 bytes of TCP
  crafted(syn6, (b) => { b[52] = (15 << 4); }, 'PACKET_BAD_LENGTH');
  // IPv4 total length shorter than the buffer moves the end: data offset then runs past it.
  crafted(syn4, (b) => { b.writeUInt16BE(50, 2); }, 'PACKET_BAD_LENGTH');
});

test('PACKET_IP_OPTIONS: IPv4 IHL != 5, IPv6 extension headers', () => {
  for (const ihl of [0, 4, 6, 15]) crafted(syn4, (b) => { b[0] = 0x40 | ihl; }, 'PACKET_IP_OPTIONS');
  // A real IPv4 header with a 4-byte NOP option list (IHL 6).
  crafted(syn4, (b) => {
    const o = Buffer.concat([b.subarray(0, 20), Buffer.from([1, 1, 1, 0]), b.subarray(20)]);
    o[0] = 0x46;
    o.writeUInt16BE(o.length, 2);
    return o;
  }, 'PACKET_IP_OPTIONS');
  for (const nh of [0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254]) crafted(syn6, (b) => { b[6] = nh; }, 'PACKET_IP_OPTIONS');
});

test('PACKET_FRAGMENT: MF set or a non-zero fragment offset', () => {
  crafted(syn4, (b) => { b.writeUInt16BE(0x2000, 6); }, 'PACKET_FRAGMENT');
  crafted(syn4, (b) => { b.writeUInt16BE(0x0001, 6); }, 'PACKET_FRAGMENT');
  crafted(syn4, (b) => { b.writeUInt16BE(0x4000 | 0x1fff, 6); }, 'PACKET_FRAGMENT');
  // DF alone and the reserved bit alone are not fragments.
  for (const f of [0x0000, 0x4000, 0x8000]) {
    const b = syn4();
    b.writeUInt16BE(f, 6);
    assert.doesNotThrow(() => parseIpTcp(fixChecksums(b)));
  }
});

test('PACKET_NOT_TCP: another protocol (v4) or upper-layer next header (v6)', () => {
  for (const proto of [1, 17, 58, 132]) crafted(syn4, (b) => { b[9] = proto; }, 'PACKET_NOT_TCP');
  for (const nh of [17, 58, 59, 132]) crafted(syn6, (b) => { b[6] = nh; }, 'PACKET_NOT_TCP');
});

test('PACKET_CHECKSUM: IPv4 header checksum, TCP checksum over header, options and payload (v4, v6)', () => {
  const h = syn4();
  h[10]! ^= 0x01;
  throwsCode(() => parseIpTcp(h), 'PACKET_CHECKSUM');
  const ttl = syn4();
  ttl[8] = 63; // header changed, checksum not repaired
  throwsCode(() => parseIpTcp(ttl), 'PACKET_CHECKSUM');
  const t4 = syn4();
  t4[50]! ^= 0x80; // tsVal, inside the timestamp option
  throwsCode(() => parseIpTcp(t4), 'PACKET_CHECKSUM');
  const t6 = syn6();
  t6[24 + 15]! ^= 1; // destination address: covered by the pseudo-header
  throwsCode(() => parseIpTcp(t6), 'PACKET_CHECKSUM');
  const p4 = ack4();
  p4[p4.length - 1]! ^= 0xff; // payload
  throwsCode(() => parseIpTcp(p4), 'PACKET_CHECKSUM');
});

test('PACKET_BAD_OPTIONS: length byte 0 or 1, option past the header, missing length byte', () => {
  // SYN options at TCP offset 20 (IPv4 byte 40): 02 04 05 b4 | 04 02 | 08 0a ... | 01 | 03 03 07
  crafted(syn4, (b) => { b[41] = 0; }, 'PACKET_BAD_OPTIONS');
  crafted(syn4, (b) => { b[41] = 1; }, 'PACKET_BAD_OPTIONS');
  crafted(syn4, (b) => { b[58] = 4; }, 'PACKET_BAD_OPTIONS'); // wscale claims 4 bytes, 3 left
  crafted(syn4, (b) => { b[47] = 0xff; }, 'PACKET_BAD_OPTIONS'); // timestamp length 255
  crafted(syn4, (b) => { b.fill(1, 40, 59); b[59] = 3; }, 'PACKET_BAD_OPTIONS'); // kind without a length byte
  crafted(syn6, (b) => { b[61] = 0; }, 'PACKET_BAD_OPTIONS');
  // EOL ends the list: whatever follows is padding.
  const eol = syn4();
  eol[56] = 0;
  eol[58] = 0xff;
  assert.doesNotThrow(() => parseIpTcp(fixChecksums(eol)));
  // Unknown kinds with sane lengths are fine.
  const unk = syn4();
  unk.set([0xfe, 4, 0xab, 0xcd], 40);
  assert.doesNotThrow(() => parseIpTcp(fixChecksums(unk)));
});

test('every error is a TumblerError with one of the documented codes, also without checksum checks', () => {
  // The order of checks is fixed; with verifyChecksum false the structural codes still appear.
  const b = syn4();
  b[41] = 0;
  throwsCode(() => parseIpTcp(b, { verifyChecksum: false }), 'PACKET_BAD_OPTIONS');
  throwsCode(() => parseIpTcp(b), 'PACKET_CHECKSUM');
});

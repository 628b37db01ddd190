/**
 * Fuzz: >= 100,000 random and mutated inputs into parseIpTcp and parseFrame. The only acceptable
 * failure is a TumblerError with a PACKET_ / ADDRESS_ code; whatever parses must be self-consistent.
 * Seeded (xorshift32), so a failure reproduces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTumblerError } from '../../shared/errors.js';
import { chooseSynShape } from '../../shared/packet/syn-shape.js';
import { buildSyn, buildSynAck, formatAddress, parseAddress, parseFrame, parseIpTcp, type LinkType, type ParsedTcp } from '../../shared/packet/tcp.js';
import { fixChecksums } from '../unit/shared/packet/helpers.js';

function prng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  return {
    int: (n: number) => next() % n,
    bytes: (n: number) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = next() & 0xff; return b; },
  };
}
type Rng = ReturnType<typeof prng>;

/** One to four edits: bit flips, byte sets, 16-bit sets, truncation, extension. */
function mutate(r: Rng, src: Buffer): Buffer {
  let t = Buffer.from(src);
  const edits = 1 + r.int(4);
  for (let e = 0; e < edits; e++) {
    const kind = r.int(6);
    if (kind === 0 && t.length) t[r.int(t.length)]! ^= 1 << r.int(8);
    else if (kind === 1 && t.length) t[r.int(t.length)] = r.int(256);
    else if (kind === 2 && t.length > 1) t.writeUInt16BE(r.int(65536), r.int(t.length - 1));
    else if (kind === 3 && t.length) t[r.int(t.length)] = [0, 1, 2, 4, 5, 6, 0x45, 0x60, 0xff][r.int(9)]!;
    else if (kind === 4) t = t.subarray(0, r.int(t.length + 1));
    else t = Buffer.concat([t, r.bytes(r.int(8))]);
  }
  return t;
}

const seen = new Map<string, number>();
function expectTyped(fn: () => ParsedTcp, input: Buffer): void {
  let p: ParsedTcp;
  try {
    p = fn();
  } catch (e) {
    assert.ok(isTumblerError(e), `untyped throw ${String(e)} for ${input.toString('hex')}`);
    assert.ok(e.code.startsWith('PACKET_') || e.code.startsWith('ADDRESS_'), `unexpected code ${e.code}`);
    seen.set(e.code, (seen.get(e.code) ?? 0) + 1);
    return;
  }
  seen.set('ok', (seen.get('ok') ?? 0) + 1);
  // Self-consistency of a successful parse.
  assert.ok(p.family === 4 || p.family === 6);
  assert.equal(formatAddress(p.family, parseAddress(p.src).bytes), p.src);
  assert.equal(formatAddress(p.family, parseAddress(p.dst).bytes), p.dst);
  assert.ok(p.srcPort <= 0xffff && p.dstPort <= 0xffff && p.window <= 0xffff && p.ttl <= 0xff && p.ipId <= 0xffff);
  assert.ok(p.seq >= 0 && p.seq <= 0xffffffff && p.ack >= 0 && p.ack <= 0xffffffff);
  assert.ok(p.flags >= 0 && p.flags <= 0x1ff);
  assert.ok(p.tcpOptions.length <= 40 && p.tcpOptions.length % 4 === 0);
  assert.ok(p.payload.length + p.tcpOptions.length + 20 <= input.length);
}

function seeds(r: Rng): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 4; i++) {
    out.push(buildSyn({ family: 4, src: '192.0.2.1', dst: '198.51.100.2', srcPort: 1 + r.int(65535), dstPort: 40000 + i, isn: r.int(2 ** 32), shape: chooseSynShape(4, r.bytes) }));
    out.push(buildSyn({ family: 6, src: '2001:db8::1', dst: '2001:db8:0:0:1::2', srcPort: 1 + r.int(65535), dstPort: 40000 + i, isn: r.int(2 ** 32), shape: chooseSynShape(6, r.bytes) }));
    out.push(buildSynAck({ family: 4, src: '198.51.100.2', dst: '192.0.2.1', srcPort: 40000, dstPort: 50000, seq: r.int(2 ** 32), ack: r.int(2 ** 32), payload: r.bytes(r.int(120)) }));
    out.push(buildSynAck({ family: 6, src: '2001:db8::2', dst: '2001:db8::1', srcPort: 40000, dstPort: 50000, seq: r.int(2 ** 32), ack: r.int(2 ** 32), payload: r.bytes(r.int(120)) }));
  }
  return out;
}

const LINKS: readonly LinkType[] = ['EN10MB', 'LINUX_SLL', 'LINUX_SLL2', 'RAW'];
function linkHeader(r: Rng, link: LinkType, ip: Buffer): Buffer {
  const type = ip.length && ip[0]! >> 4 === 6 ? 0x86dd : 0x0800;
  if (link === 'EN10MB') {
    const h = r.bytes(r.int(4) === 0 ? 18 : 14);
    if (h.length === 18) { h.writeUInt16BE(0x8100, 12); h.writeUInt16BE(type, 16); } else h.writeUInt16BE(type, 12);
    return h;
  }
  if (link === 'LINUX_SLL') { const h = r.bytes(16); h.writeUInt16BE(type, 14); return h; }
  if (link === 'LINUX_SLL2') { const h = r.bytes(20); h.writeUInt16BE(type, 0); return h; }
  return Buffer.alloc(0);
}

const N = 30_000; // per test below; 4 tests, several parses each: well over 100,000 inputs

test('random buffers (0..200 bytes) into parseIpTcp and parseFrame', () => {
  const r = prng(0x5eed0001);
  for (let i = 0; i < N; i++) {
    const b = r.bytes(r.int(201));
    if (b.length && r.int(2)) b[0] = (r.int(2) ? 0x45 : 0x60) | (b[0]! & 0x0f & (r.int(2) ? 0 : 0xf));
    expectTyped(() => parseIpTcp(b), b);
    expectTyped(() => parseIpTcp(b, { verifyChecksum: false }), b);
    const link = LINKS[r.int(LINKS.length)]!;
    expectTyped(() => parseFrame(b, link), b);
  }
});

test('mutated valid v4/v6 SYN and SYN-ACK packets into parseIpTcp', () => {
  const r = prng(0x5eed0002);
  const base = seeds(r);
  for (let i = 0; i < N; i++) {
    const m = mutate(r, base[r.int(base.length)]!);
    expectTyped(() => parseIpTcp(m), m);
    expectTyped(() => parseIpTcp(m, { verifyChecksum: false }), m);
  }
});

test('mutated packets with repaired checksums reach the structural checks', () => {
  const r = prng(0x5eed0003);
  const base = seeds(r);
  for (let i = 0; i < N; i++) {
    const m = mutate(r, base[r.int(base.length)]!);
    if (m.length >= 40 && (m[0]! >> 4 === 4 ? m.length >= 20 : true)) {
      try { fixChecksums(m); } catch { /* repair is best effort on nonsense lengths */ }
    }
    expectTyped(() => parseIpTcp(m), m);
  }
});

test('mutated frames of every link type into parseFrame; every PACKET_ code was reached', () => {
  const r = prng(0x5eed0004);
  const base = seeds(r);
  for (let i = 0; i < N; i++) {
    const link = LINKS[r.int(LINKS.length)]!;
    const ip = base[r.int(base.length)]!;
    const frame = Buffer.concat([linkHeader(r, link, ip), ip]);
    const m = r.int(8) === 0 ? frame : mutate(r, frame);
    expectTyped(() => parseFrame(m, link), m);
    expectTyped(() => parseFrame(m, link, { verifyChecksum: false }), m);
  }
  const total = [...seen.values()].reduce((a, b) => a + b, 0);
  assert.ok(total >= 100_000, `only ${total} inputs`);
  for (const code of ['ok', 'PACKET_TRUNCATED', 'PACKET_BAD_VERSION', 'PACKET_BAD_LENGTH', 'PACKET_IP_OPTIONS', 'PACKET_FRAGMENT',
    'PACKET_NOT_TCP', 'PACKET_CHECKSUM', 'PACKET_BAD_OPTIONS', 'PACKET_NOT_IP']) {
    assert.ok((seen.get(code) ?? 0) > 0, `fuzzing never produced ${code}`);
  }
});

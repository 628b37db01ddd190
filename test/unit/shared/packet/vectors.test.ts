/**
 * Byte-exact vectors (test/vectors/packet.json): a fixed SYN (IPv4) and SYN-ACK (IPv6) built and
 * parsed in both directions, and our SYN compared with SYNs captured from the Linux kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chooseSynShape } from '../../../../shared/packet/syn-shape.js';
import { buildSyn, buildSynAck, decodeTcpOptions, parseFrame, parseIpTcp, type LinkType, type ParsedTcp } from '../../../../shared/packet/tcp.js';
import { fixedRandom, throwsCode } from './helpers.js';

const V = JSON.parse(readFileSync(new URL('../../../vectors/packet.json', import.meta.url), 'utf8'));

function plain(p: ParsedTcp): Record<string, unknown> {
  const { tcpOptions, payload, ...rest } = p;
  return { ...rest, tcpOptionsHex: tcpOptions.toString('hex'), payloadHex: payload.toString('hex') };
}

test('SYN v4 vector: build gives the exact bytes, parse gives the exact fields', () => {
  const { input, parsed, hex } = V.syn;
  const shape = chooseSynShape(4, fixedRandom(input.randomHex));
  const built = buildSyn({ family: 4, src: input.src, dst: input.dst, srcPort: input.srcPort, dstPort: input.dstPort, isn: input.isn, shape });
  assert.equal(built.toString('hex'), hex);
  assert.deepEqual(plain(parseIpTcp(Buffer.from(hex, 'hex'))), parsed);
});

test('SYN-ACK v6 vector: build gives the exact bytes, parse gives the exact fields', () => {
  const { input, parsed, hex } = V.synAck;
  const built = buildSynAck({
    family: 6, src: input.src, dst: input.dst, srcPort: input.srcPort, dstPort: input.dstPort, seq: input.seq, ack: input.ack,
    payload: Buffer.from(input.payloadHex, 'hex'), ttl: input.ttl, window: input.window, flowLabel: input.flowLabel,
  });
  assert.equal(built.toString('hex'), hex);
  assert.deepEqual(plain(parseIpTcp(Buffer.from(hex, 'hex'))), parsed);
});

test('a single flipped bit in the vectors is rejected, except in the unprotected IPv6 fields', () => {
  // IPv6 has no header checksum: traffic class, flow label and hop limit are covered by nothing.
  const unprotected = (v6: boolean, i: number, bit: number) => v6 && ((i === 0 && bit < 4) || i === 1 || i === 2 || i === 3 || i === 7);
  for (const hex of [V.syn.hex, V.synAck.hex] as string[]) {
    const good = Buffer.from(hex, 'hex');
    const v6 = good[0]! >> 4 === 6;
    for (let i = 0; i < good.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = Buffer.from(good);
        b[i]! ^= 1 << bit;
        if (unprotected(v6, i, bit)) assert.doesNotThrow(() => parseIpTcp(b), `byte ${i} bit ${bit}`);
        else assert.throws(() => parseIpTcp(b), `byte ${i} bit ${bit}`);
      }
    }
  }
});

for (const fam of ['v4', 'v6'] as const) {
  test(`our SYN matches the Linux kernel's own ${fam} SYN byte for byte, except checksum and window scale`, () => {
    const L = V.linuxSyn[fam];
    const frame = Buffer.from(L.frameHex, 'hex');
    // Loopback leaves the TCP checksum partial (offload): the default parse rejects it.
    throwsCode(() => parseFrame(frame, L.linkType as LinkType), 'PACKET_CHECKSUM');
    const p = parseFrame(frame, L.linkType as LinkType, { verifyChecksum: false });
    assert.deepEqual([p.src, p.dst, p.srcPort, p.dstPort, p.seq, p.ack, p.flags], [L.src, L.dst, L.srcPort, L.dstPort, L.isn, 0, 0x02]);
    const linux = decodeTcpOptions(p.tcpOptions);
    assert.equal(linux.wscale, L.wscale);

    const family = fam === 'v4' ? 4 : 6;
    const shape = { ...chooseSynShape(family, fixedRandom('00')), ipId: L.ipId ?? 0, flowLabel: L.flowLabel ?? 0, tsVal: L.tsVal, wscale: L.wscale };
    const ours = buildSyn({ family, src: L.src, dst: L.dst, srcPort: L.srcPort, dstPort: L.dstPort, isn: L.isn, shape });
    const theirs = frame.subarray(14);
    assert.equal(ours.length, theirs.length);
    const tcpAt = family === 4 ? 20 : 40;
    const skip = new Set([tcpAt + 16, tcpAt + 17]); // TCP checksum
    for (let i = 0; i < ours.length; i++) if (!skip.has(i)) assert.equal(ours[i], theirs[i], `byte ${i}`);
    // And with our default shape only the window scale differs in the options (7 vs this kernel's 10).
    const def = decodeTcpOptions(parseIpTcp(buildSyn({ family, src: L.src, dst: L.dst, srcPort: L.srcPort, dstPort: L.dstPort, isn: L.isn, shape: { ...shape, wscale: 7 } })).tcpOptions);
    assert.deepEqual({ ...def, wscale: L.wscale }, linux);
  });
}

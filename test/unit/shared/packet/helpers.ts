/**
 * Test helpers for shared/packet: a fixed "random" source, an Internet checksum written
 * independently of shared/packet/checksum.ts (explicit pseudo-header buffer, carry folded at
 * every step), and checksum repair for hand-crafted packets.
 */
import assert from 'node:assert/strict';
import { isTumblerError } from '../../../../shared/errors.js';

/** A random source that hands out the bytes of `hex` in order (then wraps). */
export function fixedRandom(hex: string): (n: number) => Buffer {
  const src = Buffer.from(hex, 'hex');
  let at = 0;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = src[(at + i) % src.length]!;
    at += n;
    return out;
  };
}

/** RFC 1071 checksum, folding the carry after every 16-bit addition (DataView reads). */
export function refChecksum(data: Uint8Array): number {
  const padded = new Uint8Array(data.length + (data.length & 1));
  padded.set(data);
  const dv = new DataView(padded.buffer);
  let sum = 0;
  for (let i = 0; i < padded.length; i += 2) {
    sum += dv.getUint16(i, false);
    if (sum > 0xffff) sum -= 0xffff;
  }
  return (0xffff - sum) & 0xffff;
}

/** The TCP segment of a packet built here (IPv4 IHL 5 / IPv6 without extension headers) and its pseudo-header. */
export function pseudoAndSegment(pkt: Buffer): { pseudo: Buffer; segment: Buffer } {
  if (pkt[0]! >> 4 === 4) {
    const total = pkt.readUInt16BE(2);
    const segment = pkt.subarray(20, total);
    const pseudo = Buffer.alloc(12);
    pkt.copy(pseudo, 0, 12, 20);
    pseudo[9] = 6;
    pseudo.writeUInt16BE(segment.length, 10);
    return { pseudo, segment };
  }
  const segment = pkt.subarray(40, 40 + pkt.readUInt16BE(4));
  const pseudo = Buffer.alloc(40);
  pkt.copy(pseudo, 0, 8, 40);
  pseudo.writeUInt32BE(segment.length, 32);
  pseudo[39] = 6;
  return { pseudo, segment };
}

/** Independently computed TCP checksum of `pkt` (the checksum field taken as zero). */
export function refTcpChecksum(pkt: Buffer): number {
  const { pseudo, segment } = pseudoAndSegment(pkt);
  if (segment.length < 18) return 0; // no checksum field to speak of (crafted length cases)
  const seg = Buffer.from(segment);
  seg.writeUInt16BE(0, 16);
  return refChecksum(Buffer.concat([pseudo, seg]));
}

/** Rewrite the IPv4 header checksum and the TCP checksum of a crafted packet (in place). */
export function fixChecksums(pkt: Buffer): Buffer {
  if (pkt[0]! >> 4 === 4) {
    pkt.writeUInt16BE(0, 10);
    pkt.writeUInt16BE(refChecksum(pkt.subarray(0, 20)), 10);
  }
  const at = (pkt[0]! >> 4 === 4 ? 20 : 40) + 16;
  if (pkt.length >= at + 2) pkt.writeUInt16BE(refTcpChecksum(pkt), at);
  return pkt;
}

/** Assert that fn throws a TumblerError with exactly `code`. */
export function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isTumblerError(e), `not a TumblerError: ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

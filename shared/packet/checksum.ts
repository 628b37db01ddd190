/**
 * The Internet checksum (RFC 1071) and the TCP pseudo-header sums for IPv4 (RFC 793) and IPv6
 * (RFC 8200 §8.1). Pure. Sums are kept unfolded (plain JS numbers cannot overflow for any
 * packet up to 64 KiB) and folded once at the end.
 */
import { IPPROTO_TCP } from './constants.js';

/** Unfolded sum of the big-endian 16-bit words of buf[start, end), an odd last byte padded with zero. */
export function onesSum(buf: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc;
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (i === last) s += buf[i]! << 8;
  return s;
}

/** Fold an unfolded sum to 16 bits with end-around carry. */
export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum field value for buf[start, end): the complement of the folded sum. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return ~fold(onesSum(buf, start, end)) & 0xffff;
}

/**
 * Unfolded pseudo-header sum: source and destination addresses (read from `buf` at the given
 * offsets, `addrLen` 4 or 16 bytes each), protocol TCP, and the TCP segment length.
 */
export function pseudoHeaderSum(buf: Uint8Array, srcOff: number, dstOff: number, addrLen: number, tcpLen: number): number {
  let s = onesSum(buf, srcOff, srcOff + addrLen);
  s = onesSum(buf, dstOff, dstOff + addrLen, s);
  // IPv4: zero, protocol, 16-bit length. IPv6: 32-bit length, 24 zero bits, next header.
  // Both sum to protocol + length (the IPv6 length's upper word is 0 for segments < 64 KiB).
  return s + IPPROTO_TCP + (tcpLen & 0xffff) + Math.floor(tcpLen / 0x10000);
}

/**
 * TCP checksum field value for the segment buf[tcpOff, tcpOff + tcpLen) whose addresses sit in
 * the same buffer. The segment's own checksum field must be zero when building; when verifying,
 * the result over a correct segment (field included) is 0.
 */
export function tcpChecksum(buf: Uint8Array, srcOff: number, dstOff: number, addrLen: number, tcpOff: number, tcpLen: number): number {
  const s = onesSum(buf, tcpOff, tcpOff + tcpLen, pseudoHeaderSum(buf, srcOff, dstOff, addrLen, tcpLen));
  return ~fold(s) & 0xffff;
}

/**
 * The look of a Linux kernel SYN (Linux 4.x–6.x defaults, 1500-byte MTU): window, MSS, SACK-
 * permitted, timestamps, window scale 7, option order MSS, SACK_PERM, TS, NOP, WSCALE (20 bytes,
 * data offset 10), TTL/hop limit 64, DF, random IP ID / flow label. Pure; all randomness comes
 * from the injected `random`.
 *
 * Linux draws the IP ID and the flow label per connection, while the timestamp clock is shared by
 * all connections to one destination (per address pair offset, millisecond ticks). A caller that
 * sends several SYNs from one shape should use `nextConnection` for each SYN after the first.
 */
import { TumblerError } from '../errors.js';
import {
  DEFAULT_TTL, IPV6_FLOW_LABEL_MASK, LINUX_MSS_V4, LINUX_MSS_V6, LINUX_SYN_WINDOW_V4, LINUX_SYN_WINDOW_V6, LINUX_WSCALE,
} from './constants.js';

export interface SynShape {
  readonly family: 4 | 6;
  /** TTL (IPv4) or hop limit (IPv6). */
  readonly ttl: number;
  /** IPv4 identification (0 for IPv6). */
  readonly ipId: number;
  /** IPv6 flow label, 20 bits, never 0 (0 for IPv4). */
  readonly flowLabel: number;
  /** IPv4 Don't Fragment. */
  readonly df: boolean;
  readonly window: number;
  readonly mss: number;
  readonly sackPermitted: boolean;
  readonly wscale: number;
  /** Timestamp option value (32 bits) and echo reply (0 on a SYN). */
  readonly tsVal: number;
  readonly tsEcr: number;
}

function randomBytesOf(random: (n: number) => Buffer, n: number): Buffer {
  const b = random(n);
  if (!Buffer.isBuffer(b) || b.length < n) throw new TumblerError('PACKET_RANDOM', 'random source returned too few bytes');
  return b;
}

/** Fresh 20-bit non-zero flow label (Linux's auto flow labels are a non-zero flow hash). */
function flowLabelFrom(b: Buffer, off: number): number {
  return (b.readUIntBE(off, 3) & IPV6_FLOW_LABEL_MASK) || 1;
}

/** The shape of one Linux connect()'s SYN for `family`. Draws 8 random bytes. */
export function chooseSynShape(family: 4 | 6, random: (n: number) => Buffer): SynShape {
  if (family !== 4 && family !== 6) throw new TumblerError('PACKET_BUILD_INVALID', 'family must be 4 or 6');
  const r = randomBytesOf(random, 8);
  const v4 = family === 4;
  return {
    family,
    ttl: DEFAULT_TTL,
    ipId: v4 ? r.readUInt16BE(0) : 0,
    flowLabel: v4 ? 0 : flowLabelFrom(r, 1),
    df: true,
    window: v4 ? LINUX_SYN_WINDOW_V4 : LINUX_SYN_WINDOW_V6,
    mss: v4 ? LINUX_MSS_V4 : LINUX_MSS_V6,
    sackPermitted: true,
    wscale: LINUX_WSCALE,
    tsVal: r.readUInt32BE(4),
    tsEcr: 0,
  };
}

/**
 * The shape of the next connection to the same destination, `elapsedMs` later: a fresh IP ID or
 * flow label (per connection in Linux), the timestamp advanced by the elapsed milliseconds (the
 * per-destination clock). Draws 3 random bytes.
 */
export function nextConnection(shape: SynShape, random: (n: number) => Buffer, elapsedMs = 0): SynShape {
  const r = randomBytesOf(random, 3);
  const step = Number.isFinite(elapsedMs) && elapsedMs > 0 ? Math.floor(elapsedMs) : 0;
  return {
    ...shape,
    ipId: shape.family === 4 ? r.readUInt16BE(0) : 0,
    flowLabel: shape.family === 6 ? flowLabelFrom(r, 0) : 0,
    tsVal: (shape.tsVal + step) >>> 0,
  };
}

/**
 * The look of a Linux kernel SYN: the host-derived window, MSS and options (linux-syn.ts; by
 * default Linux's defaults over a 1500-byte MTU: window 64240 / 64800, MSS 1460 / 1440, SACK-
 * permitted, timestamps, window scale 7), TTL/hop limit 64, DF, random IP ID / flow label. Pure;
 * all randomness comes from the injected `random`.
 *
 * Linux draws the IP ID and the flow label per connection, while the timestamp clock is shared by
 * all connections to one destination (per address pair offset, millisecond ticks). A caller that
 * sends several SYNs from one shape should use `nextConnection` for each SYN after the first.
 */
import { TumblerError } from '../errors.js';
import type { IpFamily } from '../net/address.js';
import { DEFAULT_TTL, IPV6_FLOW_LABEL_MASK } from './constants.js';
import { ETHERNET_ROUTE, LINUX_DEFAULT_TCP, linuxSynFields, type LinuxSynFields } from './linux-syn.js';

export interface SynShape extends LinuxSynFields {
  readonly family: IpFamily;
  /** TTL (IPv4) or hop limit (IPv6). */
  readonly ttl: number;
  /** IPv4 identification (0 for IPv6). */
  readonly ipId: number;
  /** IPv6 flow label, 20 bits, never 0 (0 for IPv4). */
  readonly flowLabel: number;
  /** IPv4 Don't Fragment. */
  readonly df: boolean;
  /** Timestamp option value (32 bits) and echo reply (0 on a SYN); written only when `timestamps`. */
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

/**
 * The shape of one Linux connect()'s SYN for `family`, with the window, MSS and options of `host`
 * (default: Linux's defaults over Ethernet). Draws 8 random bytes.
 */
export function chooseSynShape(family: IpFamily, random: (n: number) => Buffer,
  host: LinuxSynFields = defaultFields(family)): SynShape {
  checkFamily(family);
  const r = randomBytesOf(random, 8);
  const v4 = family === 4;
  return {
    family,
    ttl: DEFAULT_TTL,
    ipId: v4 ? r.readUInt16BE(0) : 0,
    flowLabel: v4 ? 0 : flowLabelFrom(r, 1),
    df: true,
    window: host.window,
    mss: host.mss,
    sackPermitted: host.sackPermitted,
    timestamps: host.timestamps,
    wscale: host.wscale,
    tsVal: r.readUInt32BE(4),
    tsEcr: 0,
  };
}

function checkFamily(family: IpFamily): void {
  if (family !== 4 && family !== 6) throw new TumblerError('PACKET_BUILD_INVALID', 'family must be 4 or 6');
}

function defaultFields(family: IpFamily): LinuxSynFields {
  checkFamily(family);
  return linuxSynFields(family, LINUX_DEFAULT_TCP[family], ETHERNET_ROUTE);
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

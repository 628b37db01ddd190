/**
 * What Linux writes in the SYN of a `connect()`: the window, the window scale, the MSS and which
 * options it offers, from the host's TCP settings (sysctls of the caller's network namespace) and
 * the route to the server. A knock SYN built from these fields is the kernel's own SYN to that
 * server, byte for byte in every field that is not random (docs/protocol.md §13).
 *
 * The model follows net/ipv4/tcp_output.c (tcp_connect_init → tcp_select_initial_window,
 * tcp_advertise_mss, tcp_syn_options), include/net/tcp.h (tcp_full_space, tcp_win_from_space) and
 * the route's default advmss (ipv4_default_advmss, ip6_default_advmss), Linux 4.19 and later. It
 * was checked against SYNs captured from Linux 6.18 (test/vectors/packet.json, linuxSynShapes).
 * The setuid helper (client/helper/tumbler-helper.c, derive_syn) re-derives the same fields in C to
 * check what it is asked to send. Pure.
 */
import { TumblerError } from '../errors.js';
import type { IpFamily } from '../net/address.js';
import { IPV4_HEADER_LEN, IPV6_HEADER_LEN, TCP_HEADER_LEN, TCP_MAX_WSCALE } from './constants.js';

/** The host settings a SYN depends on, for one address family. */
export interface LinuxTcpSettings {
  /** Kernel release (major, minor): decides how the receive buffer becomes a window. */
  readonly kernel: readonly [number, number];
  /** net.ipv4.tcp_rmem[1]: a new socket's receive buffer. */
  readonly rmemDefault: number;
  /** net.ipv4.tcp_rmem[2]: the most the receive buffer may grow to. */
  readonly rmemMax: number;
  /** net.core.rmem_max. */
  readonly coreRmemMax: number;
  /** net.ipv4.tcp_adv_win_scale (used by kernels before 6.6 only). */
  readonly advWinScale: number;
  readonly windowScaling: boolean;
  readonly timestamps: boolean;
  readonly sack: boolean;
  /** net.ipv4.tcp_workaround_signed_windows: caps the SYN window at 32767. */
  readonly workaroundSignedWindows: boolean;
  /** net.ipv4.route.min_adv_mss (IPv4) or net.ipv6.route.min_adv_mss (IPv6). */
  readonly minAdvMss: number;
}

/** The route to the server, as `ip route get` shows it (metrics absent or 0 when not set). */
export interface RouteTcpMetrics {
  /** The path MTU: the route's mtu metric or cached PMTU, else the device's MTU. */
  readonly mtu: number;
  readonly advmss?: number;
  /** The route's `window` metric: clamps the window and the window scale. */
  readonly window?: number;
  /** The route's `initrwnd` metric, in segments. */
  readonly initrwnd?: number;
}

/** The host-derived part of a SYN (the rest of the Linux look is in syn-shape.ts). */
export interface LinuxSynFields {
  readonly window: number;
  readonly mss: number;
  /** The window-scale option's shift, or null when the host offers no window scaling. */
  readonly wscale: number | null;
  readonly sackPermitted: boolean;
  readonly timestamps: boolean;
}

// Kernel constants (include/net/tcp.h, include/linux/ipv6.h, include/net/ip.h).
const U16_MAX = 0xffff;
/** MAX_TCP_WINDOW: the SYN window when tcp_workaround_signed_windows is set. */
const MAX_SIGNED_WINDOW = 32_767;
/** window_clamp when no route metric sets one: U16_MAX << TCP_MAX_WSCALE. */
const NO_CLAMP = U16_MAX * 2 ** TCP_MAX_WSCALE;
/** tcp_win_from_space since 6.6: space x scaling_ratio >> TCP_RMEM_TO_WIN_SCALE, default ratio 50%. */
const TCP_RMEM_TO_WIN_SCALE = 8;
const TCP_DEFAULT_SCALING_RATIO = 1 << (TCP_RMEM_TO_WIN_SCALE - 1);
const SCALING_RATIO_SINCE: readonly [number, number] = [6, 6];
/** IPV4_MAX_PMTU and IPV6_MAXPLEN. */
const IPV4_MAX_PMTU = 65_535;
const IPV6_MAXPLEN = 65_535;
/** The smallest MTU either family may have (IPv4 68, IPv6 1280) is far above this: a sanity floor. */
const MIN_MTU = 68;

/** Linux's defaults (tcp_rmem 4096 131072 6291456, rmem_max 212992, all options on) for a 1500-byte MTU. */
export const LINUX_DEFAULT_TCP: Readonly<Record<IpFamily, LinuxTcpSettings>> = {
  4: {
    kernel: [6, 1], rmemDefault: 131_072, rmemMax: 6_291_456, coreRmemMax: 212_992, advWinScale: 1,
    windowScaling: true, timestamps: true, sack: true, workaroundSignedWindows: false, minAdvMss: 256,
  },
  6: {
    kernel: [6, 1], rmemDefault: 131_072, rmemMax: 6_291_456, coreRmemMax: 212_992, advWinScale: 1,
    windowScaling: true, timestamps: true, sack: true, workaroundSignedWindows: false, minAdvMss: 1220,
  },
};
/** An Ethernet route without metrics. */
export const ETHERNET_ROUTE: RouteTcpMetrics = { mtu: 1500 };

/** "6.18.44-fc-v595" → [6, 18]. Throws PACKET_HOST_SETTINGS when it does not start with major.minor. */
export function parseKernelRelease(release: string): [number, number] {
  const m = /^(\d{1,4})\.(\d{1,4})/.exec(release);
  if (!m) throw new TumblerError('PACKET_HOST_SETTINGS', 'kernel release is not major.minor');
  return [Number(m[1]), Number(m[2])];
}

function atLeast(v: readonly [number, number], since: readonly [number, number]): boolean {
  return v[0] > since[0] || (v[0] === since[0] && v[1] >= since[1]);
}

/** floor(log2(n)) for 1 <= n < 2^32; -1 for 0 (the kernel's ilog2 of 0 is clamped away by the caller). */
function ilog2(n: number): number {
  return n <= 0 ? -1 : 31 - Math.clz32(n);
}

/** tcp_full_space() of a new socket: its receive buffer (tcp_rmem[1]) as window bytes. */
function fullSpace(t: LinuxTcpSettings): number {
  const space = t.rmemDefault;
  if (atLeast(t.kernel, SCALING_RATIO_SINCE)) return Math.floor((space * TCP_DEFAULT_SCALING_RATIO) / 2 ** TCP_RMEM_TO_WIN_SCALE);
  const s = t.advWinScale;
  return s <= 0 ? Math.floor(space / 2 ** -s) : space - Math.floor(space / 2 ** s);
}

/** The MSS option: the route's advmss metric, else the path MTU less the headers, within the kernel's bounds. */
export function linuxAdvertisedMss(family: IpFamily, t: LinuxTcpSettings, r: RouteTcpMetrics): number {
  if (r.advmss) return r.advmss;
  if (family === 4) {
    const headers = IPV4_HEADER_LEN + TCP_HEADER_LEN;
    return Math.min(Math.max(r.mtu - headers, t.minAdvMss), IPV4_MAX_PMTU - headers);
  }
  let mss = Math.max(r.mtu - IPV6_HEADER_LEN - TCP_HEADER_LEN, t.minAdvMss);
  // Above the largest non-jumbo payload the kernel advertises 65535: "rely on path MTU discovery".
  if (mss > IPV6_MAXPLEN - TCP_HEADER_LEN) mss = IPV6_MAXPLEN;
  return mss;
}

function checkInputs(family: IpFamily, t: LinuxTcpSettings, r: RouteTcpMetrics): void {
  const u32 = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
  const ok = (family === 4 || family === 6) && Array.isArray(t.kernel) && t.kernel.every(u32)
    && [t.rmemDefault, t.rmemMax, t.coreRmemMax, t.minAdvMss].every(u32)
    && Number.isInteger(t.advWinScale) && Math.abs(t.advWinScale) <= 31
    && u32(r.mtu) && r.mtu >= MIN_MTU && [r.advmss ?? 0, r.window ?? 0, r.initrwnd ?? 0].every(u32)
    && (r.advmss ?? 0) <= U16_MAX;
  if (!ok) throw new TumblerError('PACKET_HOST_SETTINGS', 'host TCP settings or route metrics out of range');
}

/** The window, MSS and options of the kernel's SYN for a connect() over route `r` with settings `t`. */
export function linuxSynFields(family: IpFamily, t: LinuxTcpSettings, r: RouteTcpMetrics): LinuxSynFields {
  checkInputs(family, t, r);
  const mss = linuxAdvertisedMss(family, t, r);
  // tcp_select_initial_window(): the route's window metric clamps everything.
  const clamp = r.window ? r.window : NO_CLAMP;
  let space = Math.min(clamp, fullSpace(t));
  if (space > mss) space -= space % mss; // a whole number of segments
  let window = Math.min(space, t.workaroundSignedWindows ? MAX_SIGNED_WINDOW : U16_MAX);
  if (r.initrwnd) window = Math.min(window, r.initrwnd * mss);
  let wscale: number | null = null;
  if (t.windowScaling) {
    // Scale for the largest window the socket could ever offer.
    const most = Math.min(Math.max(space, t.rmemMax, t.coreRmemMax), clamp);
    wscale = Math.min(Math.max(ilog2(most) - 15, 0), TCP_MAX_WSCALE);
  }
  return { window, mss, wscale, sackPermitted: t.sack, timestamps: t.timestamps };
}

/**
 * Reads what this host's kernel would put in a connect()'s SYN to the server, so that the knock's
 * SYNs carry the same values (docs/protocol.md §13): the TCP sysctls of the caller's network
 * namespace (/proc/sys), the kernel release, and the route to the server (`ip -j route get`, plus
 * the device's MTU) — turned into window, MSS and options by shared/packet/linux-syn.ts — and the
 * ephemeral port range the kernel draws source ports from, less reserved ports and the local TCP
 * ports in use (`ss`, which asks sock_diag: reading /proc/net/tcp walks the whole established hash
 * and costs several times more; it is only the fallback).
 *
 * Synchronous (a few small files, one `ip` and one `ss` run: about 5-10 ms) so that building a
 * knock stays a plain function call. A sysctl that cannot be read counts as Linux's default; a route that cannot
 * be read counts as Ethernet without metrics: the setuid helper re-derives the fields itself and
 * refuses a knock that does not match (HELPER_BAD_REQUEST), so a wrong guess cannot go out.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { release as osRelease } from 'node:os';
import type { IpFamily } from '../../shared/net/address.js';
import {
  ETHERNET_ROUTE, LINUX_DEFAULT_TCP, linuxSynFields, parseKernelRelease, type LinuxSynFields, type LinuxTcpSettings,
  type RouteTcpMetrics,
} from '../../shared/packet/tcp.js';

/** Where source ports may come from: the kernel's ephemeral range, minus `excluded`. */
export interface EphemeralPorts {
  readonly first: number;
  readonly last: number;
  /** ip_local_reserved_ports and every local TCP port in use (any address, any state). */
  readonly excluded: ReadonlySet<number>;
}

/** Everything a knock needs to look like this host's own connect() to the server. */
export interface HostSyn {
  readonly fields: LinuxSynFields;
  readonly ports: EphemeralPorts;
}

/** Linux's default net.ipv4.ip_local_port_range. */
export const LINUX_EPHEMERAL_PORTS: EphemeralPorts = { first: 32_768, last: 60_999, excluded: new Set() };

/** The host's files and commands, injectable for tests. */
export interface HostIo {
  /** A file's text, or null when it cannot be read. */
  readonly readFile: (path: string) => string | null;
  /** `ip -j -batch -` with `input`; its stdout, or null when it failed. */
  readonly ipBatch: (input: string) => string | null;
  /** `ss -Htan` (every TCP socket, numeric, no header); its stdout, or null when it failed. */
  readonly tcpSockets: () => string | null;
  readonly kernelRelease: () => string;
}

const TOOL_TIMEOUT_MS = 2_000;

function tool(cmd: string, args: string[], input?: string): string | null {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: TOOL_TIMEOUT_MS, stdio: ['pipe', 'pipe', 'ignore'] });
  return r.status === 0 ? r.stdout : null;
}

export const realHostIo: HostIo = {
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  },
  ipBatch: (input) => tool('ip', ['-j', '-batch', '-'], input),
  tcpSockets: () => tool('ss', ['-Htan']),
  kernelRelease: osRelease,
};

const SYSCTL = '/proc/sys/net';

/** Whitespace-separated unsigned integers of a sysctl file, or null when absent or malformed. */
function numbers(io: HostIo, path: string, count: number): number[] | null {
  const text = io.readFile(`${SYSCTL}/${path}`);
  if (text === null) return null;
  const parts = text.trim().split(/\s+/);
  if (parts.length !== count || !parts.every((p) => /^-?\d{1,10}$/.test(p))) return null;
  return parts.map(Number);
}

function one(io: HostIo, path: string): number | null {
  return numbers(io, path, 1)?.[0] ?? null;
}

/** The TCP sysctls of this network namespace that shape a SYN (Linux's default for any unreadable one). */
export function readTcpSettings(family: IpFamily, io: HostIo = realHostIo): LinuxTcpSettings {
  const d = LINUX_DEFAULT_TCP[family];
  const rmem = numbers(io, 'ipv4/tcp_rmem', 3);
  const flag = (path: string, dflt: boolean): boolean => {
    const v = one(io, path);
    return v === null ? dflt : v !== 0;
  };
  let kernel = d.kernel;
  try {
    kernel = parseKernelRelease(io.kernelRelease());
  } catch {
    // An unparsable release keeps the default model.
  }
  return {
    kernel,
    rmemDefault: rmem?.[1] ?? d.rmemDefault,
    rmemMax: rmem?.[2] ?? d.rmemMax,
    coreRmemMax: one(io, 'core/rmem_max') ?? d.coreRmemMax,
    advWinScale: one(io, 'ipv4/tcp_adv_win_scale') ?? d.advWinScale,
    windowScaling: flag('ipv4/tcp_window_scaling', d.windowScaling),
    timestamps: flag('ipv4/tcp_timestamps', d.timestamps),
    sack: flag('ipv4/tcp_sack', d.sack),
    workaroundSignedWindows: flag('ipv4/tcp_workaround_signed_windows', d.workaroundSignedWindows),
    minAdvMss: one(io, family === 4 ? 'ipv4/route/min_adv_mss' : 'ipv6/route/min_adv_mss') ?? d.minAdvMss,
  };
}

interface IpRoute { dev?: unknown; metrics?: unknown }
interface IpLink { ifname?: unknown; mtu?: unknown }

const positive = (v: unknown): number | undefined => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : undefined);

/**
 * The route to `dst` as TCP sees it: the mtu metric (a route's, or a cached path MTU), else the
 * outgoing device's MTU; the advmss, window and initrwnd metrics. Ethernet without metrics when
 * the route cannot be read.
 */
export function readRouteMetrics(dst: string, io: HostIo = realHostIo): RouteTcpMetrics {
  // Only an address literal reaches `ip` (one line of its batch input).
  if (!/^[0-9a-fA-F:.]{2,45}$/.test(dst)) return ETHERNET_ROUTE;
  const out = io.ipBatch(`route get ${dst}\nlink show\n`);
  if (out === null) return ETHERNET_ROUTE;
  let route: IpRoute | undefined;
  let links: IpLink[] = [];
  try {
    const [routes, linkList] = out.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    route = Array.isArray(routes) ? (routes[0] as IpRoute | undefined) : undefined;
    links = Array.isArray(linkList) ? (linkList as IpLink[]) : [];
  } catch {
    return ETHERNET_ROUTE;
  }
  const metrics = (Array.isArray(route?.metrics) ? route.metrics[0] : undefined) as Record<string, unknown> | undefined;
  const devMtu = positive(links.find((l) => l.ifname === route?.dev)?.mtu);
  const mtu = positive(metrics?.mtu) ?? devMtu;
  if (mtu === undefined) return ETHERNET_ROUTE;
  const advmss = positive(metrics?.advmss);
  const window = positive(metrics?.window);
  const initrwnd = positive(metrics?.initrwnd);
  return { mtu, ...(advmss && { advmss }), ...(window && { window }), ...(initrwnd && { initrwnd }) };
}

/** "8080,9000-9010" (net.ipv4.ip_local_reserved_ports) → the ports it names. */
export function parsePortList(text: string): Set<number> {
  const out = new Set<number>();
  for (const item of text.trim().split(',')) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item.trim());
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = Math.min(Number(m[2] ?? m[1]), 0xffff);
    for (let p = lo; p <= hi; p++) out.add(p);
  }
  return out;
}

/** Local ports of every TCP socket in `ss -Htan` text ("LISTEN 0 4096 0.0.0.0:22 0.0.0.0:*", "[::1]:631"). */
export function parseSsPorts(text: string, into: Set<number> = new Set()): Set<number> {
  for (const line of text.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    const m = local ? /:(\d{1,5})$/.exec(local) : null;
    if (m) into.add(Number(m[1]));
  }
  return into;
}

/** Local ports of every TCP socket in /proc/net/tcp or tcp6 text ("sl local_address ..."; "0100007F:0016"). */
export function parseProcNetTcpPorts(text: string, into: Set<number> = new Set()): Set<number> {
  for (const line of text.split('\n')) {
    const m = /^\s*\d+:\s+[0-9A-Fa-f]+:([0-9A-Fa-f]{4})\s/.exec(line);
    if (m) into.add(parseInt(m[1]!, 16));
  }
  return into;
}

/** The kernel's ephemeral port range, minus reserved ports and the local TCP ports in use. */
export function readEphemeralPorts(io: HostIo = realHostIo): EphemeralPorts {
  const range = numbers(io, 'ipv4/ip_local_port_range', 2);
  const [first, last] = range && range[0]! >= 1 && range[0]! <= range[1]! && range[1]! <= 0xffff
    ? [range[0]!, range[1]!] : [LINUX_EPHEMERAL_PORTS.first, LINUX_EPHEMERAL_PORTS.last];
  const excluded = parsePortList(io.readFile(`${SYSCTL}/ipv4/ip_local_reserved_ports`) ?? '');
  const sockets = io.tcpSockets();
  if (sockets !== null) parseSsPorts(sockets, excluded);
  else for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) parseProcNetTcpPorts(io.readFile(f) ?? '', excluded);
  return { first, last, excluded };
}

/** The window, MSS and options this host's kernel would send in a SYN to `dst` (its sysctls and route). */
export function readSynFields(family: IpFamily, dst: string, io: HostIo = realHostIo): LinuxSynFields {
  return linuxSynFields(family, readTcpSettings(family, io), readRouteMetrics(dst, io));
}

/** What this host's kernel would send in a SYN to `dst`, and where its source port would come from. */
export function readHostSyn(family: IpFamily, dst: string, io: HostIo = realHostIo): HostSyn {
  return { fields: readSynFields(family, dst, io), ports: readEphemeralPorts(io) };
}

/**
 * Captures the kernel's own connect() SYN under varied host settings and routes, for the
 * `linuxSynShapes` vectors in test/vectors/packet.json (run as root:
 * `node --import tsx test/vectors/capture-linux-syns.ts > /tmp/shapes.json`, then paste).
 * Each case: two fresh namespaces joined by a veth pair (RFC 5737 / 2001:db8::/32 addresses),
 * the case's sysctls, route metrics or device MTU in the client namespace, tcpdump on the client's
 * veth, one connect() from the client to a closed port on the peer. It records the settings as the
 * kernel reports them (sysctl -n), the route's metrics as configured, and the SYN frame as captured.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetnsLab, inNs } from '../helpers/netns.js';

interface Case {
  readonly name: string;
  readonly family: 4 | 6;
  readonly sysctls?: Record<string, string>;
  /** Route metrics to the far prefix, as `ip route` words ("mtu 1400 advmss 1000"). */
  readonly metrics?: Record<string, number>;
  readonly deviceMtu?: number;
}

const CASES: Case[] = [
  { name: 'host defaults v4', family: 4 },
  { name: 'host defaults v6', family: 6 },
  { name: 'tcp_rmem 4096 87380 6291456', family: 4, sysctls: { 'net.ipv4.tcp_rmem': '4096 87380 6291456' } },
  { name: 'tcp_rmem 4096 65536 4194304 v6', family: 6, sysctls: { 'net.ipv4.tcp_rmem': '4096 65536 4194304' } },
  { name: 'tcp_rmem 4096 262144 1048576 (window capped)', family: 4, sysctls: { 'net.ipv4.tcp_rmem': '4096 262144 1048576' } },
  { name: 'tcp_rmem 4096 20000 100000 (scale from rmem_max)', family: 4, sysctls: { 'net.ipv4.tcp_rmem': '4096 20000 100000' } },
  { name: 'no timestamps', family: 4, sysctls: { 'net.ipv4.tcp_timestamps': '0' } },
  { name: 'no timestamps, no SACK v6', family: 6, sysctls: { 'net.ipv4.tcp_timestamps': '0', 'net.ipv4.tcp_sack': '0' } },
  { name: 'no SACK', family: 4, sysctls: { 'net.ipv4.tcp_sack': '0' } },
  { name: 'no window scaling', family: 4, sysctls: { 'net.ipv4.tcp_window_scaling': '0' } },
  { name: 'signed-window workaround', family: 4, sysctls: { 'net.ipv4.tcp_workaround_signed_windows': '1' } },
  { name: 'route mtu 1400', family: 4, metrics: { mtu: 1400 } },
  { name: 'route mtu 1280 v6', family: 6, metrics: { mtu: 1280 } },
  { name: 'route advmss 1000 window 20000 initrwnd 5', family: 4, metrics: { advmss: 1000, window: 20000, initrwnd: 5 } },
  { name: 'route window 100000', family: 4, metrics: { window: 100000 } },
  { name: 'route initrwnd 10 v6', family: 6, metrics: { initrwnd: 10 } },
  { name: 'device mtu 9000', family: 4, deviceMtu: 9000 },
  { name: 'device mtu 9000 v6', family: 6, deviceMtu: 9000 },
  { name: 'route mtu 552, IPv4 min_adv_mss 536', family: 4, metrics: { mtu: 552 }, sysctls: { 'net.ipv4.route.min_adv_mss': '536' } },
];

const SETTINGS_KEYS = {
  tcpRmem: 'net.ipv4.tcp_rmem', coreRmemMax: 'net.core.rmem_max', advWinScale: 'net.ipv4.tcp_adv_win_scale',
  windowScaling: 'net.ipv4.tcp_window_scaling', timestamps: 'net.ipv4.tcp_timestamps', sack: 'net.ipv4.tcp_sack',
  workaroundSignedWindows: 'net.ipv4.tcp_workaround_signed_windows', minAdvMss4: 'net.ipv4.route.min_adv_mss',
  minAdvMss6: 'net.ipv6.route.min_adv_mss',
} as const;

/** The first IP packet of an Ethernet pcap file that is a SYN from `src`, as frame hex. */
function firstSynFrame(file: string): string | null {
  const b = readFileSync(file);
  for (let off = 24; off + 16 <= b.length;) {
    const incl = b.readUInt32LE(off + 8);
    const frame = b.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    const type = frame.readUInt16BE(12);
    const ip = frame.subarray(14);
    const tcp = type === 0x0800 ? 20 : type === 0x86dd ? 40 : -1;
    if (tcp > 0 && ip[tcp + 13] === 0x02) return frame.toString('hex');
  }
  return null;
}

async function capture(lab: NetnsLab, i: number, c: Case, dir: string): Promise<unknown> {
  const cli = lab.addNamespace(`c${i}`);
  const srv = lab.addNamespace(`s${i}`);
  lab.link({ ns: cli, ifname: 'v0', addresses: ['192.0.2.1/24', '2001:db8::1/64'] }, { ns: srv, ifname: 'v0', addresses: ['192.0.2.2/24', '2001:db8::2/64'] });
  if (c.deviceMtu) for (const ns of [cli, srv]) lab.must(ns, ['ip', 'link', 'set', 'v0', 'mtu', String(c.deviceMtu)]);
  for (const [k, v] of Object.entries(c.sysctls ?? {})) lab.sysctl(cli, k, v);
  lab.addAddress(srv, 'lo', '198.51.100.7/32');
  lab.addAddress(srv, 'lo', '2001:db8:ff::7/128');
  const words = Object.entries(c.metrics ?? {}).flatMap(([k, v]) => [k, String(v)]);
  lab.must(cli, ['ip', 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.2', ...words]);
  lab.must(cli, ['ip', '-6', 'route', 'add', '2001:db8:ff::/64', 'via', '2001:db8::2', ...words]);
  // Static neighbours: the SYN leaves at once, not after ARP / neighbour discovery.
  const mac = (JSON.parse(lab.must(srv, ['ip', '-j', 'link', 'show', 'v0'])) as { address: string }[])[0]!.address;
  lab.must(cli, ['ip', 'neigh', 'replace', '192.0.2.2', 'lladdr', mac, 'dev', 'v0', 'nud', 'permanent']);
  lab.must(cli, ['ip', '-6', 'neigh', 'replace', '2001:db8::2', 'lladdr', mac, 'dev', 'v0', 'nud', 'permanent']);
  const dst = c.family === 4 ? '198.51.100.7' : '2001:db8:ff::7';

  const file = join(dir, `c${i}.pcap`);
  const td = spawn('ip', [...inNs(cli).slice(1), 'tcpdump', '-Z', 'root', '-U', '--immediate-mode', '-n', '-i', 'v0', '-w', file, 'tcp'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`tcpdump: ${err}`)), 5000);
    td.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('listening on')) { clearTimeout(t); resolve(); } });
  });
  lab.run(cli, [process.execPath, '-e', `const s=require('net').connect(9,'${dst}');s.on('error',()=>{});setTimeout(()=>process.exit(0),500)`]);
  td.kill('SIGTERM');
  await new Promise((r) => td.once('exit', r));
  const frameHex = firstSynFrame(file);
  if (!frameHex) throw new Error(`${c.name}: no SYN captured`);

  const sysctl = (k: string): string => lab.must(cli, ['sysctl', '-n', k]).trim().replace(/\s+/g, ' ');
  const settings = Object.fromEntries(Object.entries(SETTINGS_KEYS).map(([name, key]) => [name, sysctl(key)]));
  const deviceMtu = Number(lab.must(cli, ['cat', '/sys/class/net/v0/mtu']).trim());
  return { name: c.name, family: c.family, kernel: release(), settings, route: { deviceMtu, ...c.metrics }, frameHex };
}

async function main(): Promise<void> {
  const lab = new NetnsLab('sscap');
  const dir = mkdtempSync(join(tmpdir(), 'tmb-sscap-'));
  const out: unknown[] = [];
  try {
    for (const [i, c] of CASES.entries()) {
      out.push(await capture(lab, i, c, dir));
      lab.cleanup();
    }
  } finally {
    lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
}

await main();

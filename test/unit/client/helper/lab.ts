/**
 * The helper tests' world, as root: a client and a server namespace joined by a veth pair (RFC 5737
 * and 2001:db8::/32 addresses, static neighbours), a far prefix on the server reached through a
 * route with metrics, the helper compiled from source and installed twice (cap_net_raw, setuid
 * root), tcpdump in the server namespace, and ways to run the helper as the unprivileged `tmbuser`
 * in the client namespace, learn the kernel's own SYN there (the template valid knocks are made
 * from: the test does not take the code under test's word for what this host's SYN looks like),
 * answer from the server, and look at the helper's raw sockets through /proc.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installHelper } from '../../../../client/transport/install-helper.js';
import { ipv4Packet, ipv6Packet, readPcap, tcpInfo, type SegOpts } from './packets.js';
import { until } from '../../../helpers/until.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const HELPER_DIR = join(ROOT, 'client', 'helper');
export const USER = 'tmbuser';
/** Another account, for "another user's port". */
export const OTHER = 'tumbler';
export const C4 = '198.51.100.2';
export const S4 = '198.51.100.1';
export const C6 = '2001:db8:1::2';
export const S6 = '2001:db8:1::1';
/** Addresses on the server's loopback, reached from the client through routes with metrics. */
export const FAR4 = '203.0.113.1';
export const FAR6 = '2001:db8:ff::1';
export const FAR_ROUTE4 = ['mtu', '1400', 'advmss', '1300', 'window', '100000'];
export const FAR_ROUTE6 = ['mtu', '1280'];
export const isRoot = process.geteuid?.() === 0;
/** The system's python3 (a root-only pyenv shim earlier on PATH is not usable by the test accounts). */
export const PYTHON = '/usr/bin/python3';

export function sh(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 30_000 });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr ?? r.error}`);
  return r.stdout;
}
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { until };

export interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string; pid: number }

/** The window and option bytes of the kernel's own SYN (tsVal replaced per knock). */
export interface Template { window: number; options: Buffer }

/** One helper raw socket as /proc/<pid>/net/raw(6) shows it. */
export interface RawRow { family: 4 | 6; protocol: number; uid: number; rxQueue: number; inode: number }

export class HelperLab {
  readonly nsC: string;
  readonly nsS: string;
  readonly tmp: string;
  plain = '';
  capCopy = '';
  suidCopy = '';
  private pcapPath = '';
  private tcpdump: ChildProcess | undefined;
  private readonly running = new Set<ChildProcess>();
  /** Even ports of the default ephemeral range, the parity Linux's connect() prefers. */
  private nextPort = 33_000 + 2 * (process.pid % 5000);

  private constructor(tag: string) {
    this.nsC = `tmbss-${tag}${process.pid}-c`;
    this.nsS = `tmbss-${tag}${process.pid}-s`;
    this.tmp = mkdtempSync(join(tmpdir(), 'tmb-ss-helper-'));
    chmodSync(this.tmp, 0o755);
  }

  static async create(tag: string): Promise<HelperLab> {
    const lab = new HelperLab(tag);
    try {
      await lab.build();
    } catch (e) {
      await lab.close();
      throw e;
    }
    return lab;
  }

  private async build(): Promise<void> {
    this.plain = join(this.tmp, 'helper-plain');
    const sources = readdirSync(HELPER_DIR).filter((f) => f.endsWith('.c')).map((f) => join(HELPER_DIR, f));
    sh('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2', '-pie', '-fPIE', '-o', this.plain, ...sources]);
    chmodSync(this.plain, 0o755);
    this.capCopy = await installHelper(this.plain, join(this.tmp, 'cap', 'tumbler-helper'), 'cap');
    this.suidCopy = await installHelper(this.plain, join(this.tmp, 'suid', 'tumbler-helper'), 'setuid');

    const { nsC, nsS } = this;
    for (const ns of [nsC, nsS]) {
      spawnSync('ip', ['netns', 'del', ns]);
      sh('ip', ['netns', 'add', ns]);
    }
    sh('ip', ['link', 'add', 'veth0', 'netns', nsC, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', nsS]);
    for (const [ns, a4, a6] of [[nsC, C4, C6], [nsS, S4, S6]] as const) {
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `${a4}/24`, 'dev', 'veth0']);
      sh('ip', ['-n', ns, '-6', 'addr', 'add', `${a6}/64`, 'dev', 'veth0', 'nodad']);
      sh('ip', ['-n', ns, 'link', 'set', 'veth0', 'up']);
    }
    sh('ip', ['-n', nsS, 'addr', 'add', `${FAR4}/32`, 'dev', 'lo']);
    sh('ip', ['-n', nsS, '-6', 'addr', 'add', `${FAR6}/128`, 'dev', 'lo', 'nodad']);
    sh('ip', ['-n', nsC, 'route', 'add', '203.0.113.0/24', 'via', S4, ...FAR_ROUTE4]);
    sh('ip', ['-n', nsC, '-6', 'route', 'add', '2001:db8:ff::/64', 'via', S6, ...FAR_ROUTE6]);
    // Static neighbours, so the first knock is not queued behind ARP/ND.
    const mac = (ns: string): string => (JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'veth0'])) as { address: string }[])[0]!.address;
    for (const [ns, peer, a4, a6] of [[nsC, nsS, S4, S6], [nsS, nsC, C4, C6]] as const) {
      sh('ip', ['-n', ns, 'neigh', 'replace', a4, 'lladdr', mac(peer), 'dev', 'veth0', 'nud', 'permanent']);
      sh('ip', ['-n', ns, '-6', 'neigh', 'replace', a6, 'lladdr', mac(peer), 'dev', 'veth0', 'nud', 'permanent']);
    }

    this.pcapPath = join(this.tmp, 'cap.pcap');
    const td = spawn('ip', ['netns', 'exec', nsS, 'tcpdump', '-i', 'veth0', '-U', '--immediate-mode', '-n', '-Z', 'root', '-w', this.pcapPath, 'tcp'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    this.tcpdump = td;
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 10_000);
      td.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) { clearTimeout(t); resolve(); }
      });
      td.on('exit', () => { clearTimeout(t); reject(new Error(`tcpdump exited: ${err}`)); });
    });
  }

  async close(): Promise<void> {
    for (const c of this.running) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
    const td = this.tcpdump;
    if (td?.pid !== undefined && td.exitCode === null) {
      const exited = new Promise((r) => td.once('exit', r));
      process.kill(td.pid, 'SIGTERM');
      await Promise.race([exited, sleep(2000)]);
    }
    spawnSync('ip', ['netns', 'del', this.nsC]);
    spawnSync('ip', ['netns', 'del', this.nsS]);
    rmSync(this.tmp, { recursive: true, force: true });
  }

  /** argv running `cmd` as `user` inside the client namespace. */
  asUser(user: string, cmd: string[]): string[] {
    return ['netns', 'exec', this.nsC, 'setpriv', '--reuid', user, '--regid', user, '--init-groups', ...cmd];
  }

  /** Starts a program as `user` in the client namespace (`ip netns exec` and setpriv exec it: the pid is its own). */
  start(cmd: string[], user = USER): { child: ChildProcess; done: Promise<Run> } {
    const child = spawn('ip', this.asUser(user, cmd), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.stdin!.on('error', () => {});
    this.running.add(child);
    const done = new Promise<Run>((resolve) => child.on('close', (code, signal) => {
      this.running.delete(child);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err, pid: child.pid! });
    }));
    return { child, done };
  }

  runAs(helper: string, req: Buffer): Promise<Run> {
    const { child, done } = this.start([helper]);
    child.stdin!.end(req);
    return done;
  }

  /** A wrapper script so that runHelper (which takes a path) runs the helper in the namespace as tmbuser. */
  wrapper(helper: string): string {
    const w = join(this.tmp, `wrap-${helper.split('/').slice(-2).join('-')}.sh`);
    writeFileSync(w, `#!/bin/sh\nexec ip netns exec ${this.nsC} setpriv --reuid ${USER} --regid ${USER} --init-groups ${helper}\n`, { mode: 0o755 });
    return w;
  }

  sysctl(key: string, value: string): void {
    sh('ip', ['netns', 'exec', this.nsC, 'sysctl', '-qw', `${key}=${value}`]);
  }

  /** IP packets captured in the server namespace so far. */
  captured(): Buffer[] {
    return readPcap(readFileSync(this.pcapPath));
  }

  synsFrom(sports: number[]): Buffer[] {
    const want = new Set(sports);
    return this.captured().filter((p) => {
      const t = tcpInfo(p);
      return t !== null && t.flags === 0x02 && want.has(t.sport);
    });
  }

  async waitForSyns(sports: number[], n: number, ms = 5000): Promise<Buffer[]> {
    await until(() => this.synsFrom(sports).length >= n, ms);
    return this.synsFrom(sports);
  }

  /** Captured packets that are one of `packets` (same ports and sequence number): what of them went out. */
  sent(packets: Buffer[]): Buffer[] {
    const key = (p: Buffer): string => { const t = tcpInfo(p); return t ? `${t.sport}/${t.dport}/${t.seq}/${t.flags}` : ''; };
    const want = new Set(packets.map(key));
    return this.captured().filter((p) => want.has(key(p)));
  }

  async waitForSent(packets: Buffer[], ms = 5000): Promise<Buffer[]> {
    await until(() => this.sent(packets).length >= packets.length, ms);
    return this.sent(packets);
  }

  /** The kernel's own SYN from the client namespace (a connect() as tmbuser to dst:9), as a template. */
  async kernelTemplate(dst: string): Promise<Template> {
    const py = 'import socket,sys,time\n'
      + 's=socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)\n'
      + 's.setblocking(False)\n'
      + 's.connect_ex((sys.argv[1],9))\n'
      + 'print(s.getsockname()[1],flush=True)\n'
      + 'time.sleep(0.3)\n';
    const port = Number(sh('ip', this.asUser(USER, [PYTHON, '-c', py, dst])).trim());
    const [syn] = await this.waitForSyns([port], 1);
    if (!syn) throw new Error(`no kernel SYN to ${dst} captured`);
    const t = tcpInfo(syn)!;
    return { window: t.window, options: t.options };
  }

  /** Fresh even source ports in the default ephemeral range. */
  ports(n: number): number[] {
    return Array.from({ length: n }, () => {
      const p = this.nextPort;
      this.nextPort = this.nextPort + 2 > 60_998 ? 33_000 : this.nextPort + 2;
      return p;
    });
  }

  /** Three SYNs shaped like `tpl` (a random tsVal each), from this host to `dst`, with overrides per packet. */
  knock(family: 4 | 6, tpl: Template, over: Partial<SegOpts>[] = [{}, {}, {}], dst?: string): { packets: Buffer[]; sports: number[] } {
    const sports = this.ports(over.length);
    const packets = over.map((o, i) => {
      const options = Buffer.from(tpl.options);
      const ts = timestampAt(options);
      if (ts >= 0) randomBytes(4).copy(options, ts + 2);
      const base: SegOpts = {
        src: family === 4 ? C4 : C6, dst: dst ?? (family === 4 ? S4 : S6), sport: sports[i]!, dport: 40_001 + i,
        seq: randomBytes(4).readUInt32BE(0), id: randomBytes(2).readUInt16BE(0), window: tpl.window, options,
      };
      const opts = { ...base, ...o };
      return family === 4 ? ipv4Packet(opts) : ipv6Packet(opts);
    });
    return { packets, sports };
  }

  /** Sends raw IP packets from the server namespace (python3, IPPROTO_RAW). */
  sendFromServer(family: 4 | 6, dst: string, packets: Buffer[]): void {
    const py = 'import socket,sys\n'
      + 'f=socket.AF_INET if sys.argv[1]=="4" else socket.AF_INET6\n'
      + 's=socket.socket(f,socket.SOCK_RAW,255)\n'
      + 'if f==socket.AF_INET6: s.setsockopt(41,36,1)\n'
      + 'for h in sys.argv[3:]: s.sendto(bytes.fromhex(h),(sys.argv[2],0))\n';
    sh('ip', ['netns', 'exec', this.nsS, 'python3', '-c', py, String(family), dst, ...packets.map((p) => p.toString('hex'))]);
  }

  /** A SYN-ACK answering `syn` (ack = its seq + ackDelta) with `payload`, optionally from another address/flags. */
  synAck(family: 4 | 6, syn: Buffer, payload: Buffer, o: { ackDelta?: number; flags?: number; src?: string; sport?: number; dport?: number } = {}): Buffer {
    const t = tcpInfo(syn)!;
    const seg: SegOpts = {
      src: o.src ?? (family === 4 ? S4 : S6), dst: family === 4 ? C4 : C6, sport: o.sport ?? t.dport, dport: o.dport ?? t.sport,
      seq: 0xabcdef01, ack: (t.seq + (o.ackDelta ?? 1)) >>> 0, flags: o.flags ?? 0x12, options: Buffer.from([2, 4, 5, 0xb4]), payload,
    };
    return family === 4 ? ipv4Packet(seg) : ipv6Packet(seg);
  }

  /** TCP segments the client namespace's stack has received (Tcp InSegs): raw sockets get their copy first. */
  tcpInSegs(): number {
    const lines = sh('ip', ['netns', 'exec', this.nsC, 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Tcp:'));
    const names = lines[0]!.split(/\s+/);
    return Number(lines[1]!.split(/\s+/)[names.indexOf('InSegs')]);
  }

  /** The raw sockets process `pid` holds, from /proc/<pid>/net/raw and raw6 matched by inode. */
  static rawSockets(pid: number): RawRow[] {
    const inodes = new Set<number>();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(Number(m[1]));
      } catch { /* closed meanwhile */ }
    }
    const rows: RawRow[] = [];
    for (const [family, file] of [[4, 'raw'], [6, 'raw6']] as const) {
      let text = '';
      try { text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8'); } catch { continue; }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 10) continue;
        const inode = Number(f[9]);
        if (!inodes.has(inode)) continue;
        rows.push({ family, protocol: parseInt(f[1]!.split(':')[1]!, 16), uid: Number(f[7]), rxQueue: parseInt(f[4]!.split(':')[1]!, 16), inode });
      }
    }
    return rows;
  }
}

/** Offset of the timestamp option in an option list, or -1. */
export function timestampAt(o: Buffer): number {
  for (let i = 0; i < o.length;) {
    if (o[i] === 0) return -1;
    if (o[i] === 1) { i++; continue; }
    if (o[i] === 8) return i;
    i += o[i + 1] ?? o.length;
  }
  return -1;
}

export function idOf(user: string): { uid: number; gid: number } {
  return { uid: Number(sh('id', ['-u', user]).trim()), gid: Number(sh('id', ['-g', user]).trim()) };
}

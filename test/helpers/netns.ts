/**
 * A small library for root tests in network namespaces (reused by the firewall tests and the
 * end-to-end suite). A `NetnsLab` creates namespaces named `tmb-<purpose>-<pid>-<name>`, veth
 * pairs between them (never the host's interfaces), addresses (RFC 5737 / 2001:db8::/32) and
 * routes, runs commands inside them, starts small TCP servers and clients as child processes,
 * and probes TCP ports: 'connected' | 'refused' | 'timeout' (no answer at all) | ... .
 * `cleanup()` kills every child it started by PID, then whatever else runs in its namespaces, and
 * deletes every namespace it made.
 * Everything is bounded in time. No shell anywhere: argv arrays only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export type ProbeStatus = 'connected' | 'refused' | 'timeout' | 'unreachable' | 'reset' | 'error';

export interface ProbeResult {
  readonly status: ProbeStatus;
  readonly banner: string; // first line the server sent ('' when none or not connected)
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** One end of a veth pair: its namespace (full name), interface name (≤ 15 chars), CIDR addresses. */
export interface LinkEnd {
  readonly ns: string;
  readonly ifname: string;
  readonly addresses?: readonly string[];
}

export const isRoot = process.getuid?.() === 0;

/** Synchronous command, no shell, bounded in time. */
export function run(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, { encoding: 'utf8', input: opts.input, timeout: opts.timeoutMs ?? 30_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Like run(), but throws when the command fails. Returns stdout. */
export function must(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const r = run(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * SIGKILL every process still in namespace `ns` (by PID, from `ip netns pids`), then delete it:
 * a detached process (an agent `tumbler unlock` started, say) never outlives the test.
 */
export function deleteNamespace(ns: string): void {
  for (const pid of run(['ip', 'netns', 'pids', ns]).stdout.split('\n').filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  run(['ip', 'netns', 'del', ns]);
}

/** argv prefix that runs a command inside namespace `ns`. */
export function inNs(ns: string): string[] {
  return ['ip', 'netns', 'exec', ns];
}

// Child programs (node -e SCRIPT args...). They print one JSON line per event on stdout.
const SERVER_JS = `
const net = require('net');
const [host, port, banner] = process.argv.slice(1);
const srv = net.createServer((s) => { s.on('error', () => {}); s.write(banner + '\\n'); s.on('data', (d) => s.write(d)); });
srv.on('error', (e) => { process.stdout.write(JSON.stringify({ event: 'error', code: e.code }) + '\\n'); process.exit(1); });
srv.listen({ host, port: Number(port), ipv6Only: false }, () => process.stdout.write(JSON.stringify({ event: 'ready' }) + '\\n'));
`;

const PROBE_JS = `
const net = require('net');
const [host, port, ms] = process.argv.slice(1);
let done = false;
const s = net.connect({ host, port: Number(port) });
const fin = (status, banner) => { if (done) return; done = true; process.stdout.write(JSON.stringify({ status, banner: banner || '' }) + '\\n'); s.destroy(); process.exit(0); };
setTimeout(() => fin('timeout'), Number(ms));
s.on('connect', () => setTimeout(() => fin('connected', ''), 500));
s.on('data', (d) => fin('connected', d.toString().split('\\n')[0]));
s.on('error', (e) => fin(e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'ECONNRESET' ? 'reset'
  : (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') ? 'unreachable' : 'error'));
`;

const CLIENT_JS = `
const net = require('net');
const [host, port] = process.argv.slice(1);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const s = net.connect({ host, port: Number(port) });
s.on('connect', () => out({ event: 'connect' }));
s.on('data', (d) => out({ event: 'data', text: d.toString() }));
s.on('error', (e) => out({ event: 'error', code: e.code }));
s.on('close', () => { out({ event: 'close' }); process.exit(0); });
process.stdin.on('data', (d) => s.write(d));
process.stdin.on('end', () => s.end());
`;

interface ChildEvent {
  event: string;
  text?: string;
  code?: string;
}

/** Reads a child's JSON lines; `next()` waits (bounded) for the next event matching a predicate. */
class EventReader {
  private readonly queue: ChildEvent[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;

  constructor(child: ChildProcess) {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      try {
        this.queue.push(JSON.parse(line) as ChildEvent);
      } catch {
        return;
      }
      this.waiter?.();
    });
    rl.on('close', () => {
      this.ended = true;
      this.waiter?.();
    });
  }

  async next(match: (e: ChildEvent) => boolean, timeoutMs: number): Promise<ChildEvent | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.queue.findIndex(match);
      if (i >= 0) return this.queue.splice(0, i + 1).pop()!;
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = null;
    }
  }
}

/** A TCP listener in a namespace: sends `banner\n` on accept, then echoes. */
export interface TcpServer {
  readonly pid: number;
  stop(): void;
}

/** A long-lived TCP client connection from inside a namespace. */
export class TcpClient {
  private readonly events: EventReader;

  constructor(private readonly child: ChildProcess) {
    this.events = new EventReader(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves to the first line the server sent, or null when the connection did not open in time. */
  async connected(timeoutMs = 3_000): Promise<string | null> {
    const e = await this.events.next((x) => x.event !== 'connect', timeoutMs);
    return e?.event === 'data' ? (e.text ?? '').split('\n')[0]! : null;
  }

  /** Send a line and wait for the echo; null when none came in time (or the connection broke). */
  async exchange(line: string, timeoutMs = 3_000): Promise<string | null> {
    this.child.stdin!.write(`${line}\n`);
    const e = await this.events.next(() => true, timeoutMs);
    return e?.event === 'data' ? (e.text ?? '').trim() : null;
  }

  close(): void {
    try {
      this.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export class NetnsLab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();

  /** `purpose`: a short word ([a-z0-9]), part of every namespace name. */
  constructor(purpose: string) {
    if (!/^[a-z0-9]{1,12}$/.test(purpose)) throw new Error('purpose must be [a-z0-9]{1,12}');
    this.prefix = `tmb-${purpose}-${process.pid}`;
  }

  /** Create namespace `<prefix>-<name>` with loopback up; returns its full name. */
  addNamespace(name: string): string {
    const ns = `${this.prefix}-${name}`;
    run(['ip', 'netns', 'del', ns]); // a leftover of a crashed run with the same pid
    must(['ip', 'netns', 'add', ns]);
    this.namespaces.push(ns);
    must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A veth pair between two of our namespaces, addresses added (IPv6 without DAD), both ends up. */
  link(a: LinkEnd, b: LinkEnd): void {
    this.own(a.ns);
    this.own(b.ns);
    must(['ip', '-n', a.ns, 'link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns]);
    for (const end of [a, b]) {
      for (const cidr of end.addresses ?? []) this.addAddress(end.ns, end.ifname, cidr);
      must(['ip', '-n', end.ns, 'link', 'set', end.ifname, 'up']);
    }
  }

  /** Add an address (CIDR) to a device; IPv6 with `nodad` so it is usable at once. */
  addAddress(ns: string, dev: string, cidr: string): void {
    this.own(ns);
    must(['ip', '-n', ns, 'addr', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : [])]);
  }

  /** A route to `dest` (a prefix inside the documentation ranges, never "default") via `via`. */
  route(ns: string, dest: string, via: string): void {
    this.own(ns);
    if (dest === 'default' || dest.endsWith('/0')) throw new Error('no default routes in the lab');
    must(['ip', '-n', ns, ...(dest.includes(':') ? ['-6'] : []), 'route', 'add', dest, 'via', via]);
  }

  sysctl(ns: string, key: string, value: string): void {
    this.own(ns);
    must([...inNs(ns), 'sysctl', '-qw', `${key}=${value}`]);
  }

  /** Run a command in a namespace, synchronously. */
  run(ns: string, argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
    this.own(ns);
    return run([...inNs(ns), ...argv], opts);
  }

  must(ns: string, argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): string {
    this.own(ns);
    return must([...inNs(ns), ...argv], opts);
  }

  /** Start a child in a namespace (`ip netns exec` execs it: the PID is the program's). Killed by cleanup(). */
  spawn(ns: string, argv: readonly string[]): ChildProcess {
    this.own(ns);
    const child = spawn('ip', [...inNs(ns).slice(1), ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    child.stderr!.resume();
    return child;
  }

  /** A TCP listener on host:port in `ns` (host '::' = every address of both families). */
  async tcpServer(ns: string, port: number, banner: string, host = '::'): Promise<TcpServer> {
    const child = this.spawn(ns, [process.execPath, '-e', SERVER_JS, host, String(port), banner]);
    const e = await new EventReader(child).next((x) => x.event === 'ready' || x.event === 'error', 5_000);
    if (e?.event !== 'ready') {
      this.kill(child);
      throw new Error(`tcp server on ${host}:${port} in ${ns} did not start (${e?.code ?? 'no answer'})`);
    }
    return { pid: child.pid!, stop: () => this.kill(child) };
  }

  /** One TCP connect from inside `ns`: connected (with the server's first line), refused, or no answer in time. */
  async tcpProbe(ns: string, host: string, port: number, timeoutMs = 1_000): Promise<ProbeResult> {
    const child = this.spawn(ns, [process.execPath, '-e', PROBE_JS, host, String(port), String(timeoutMs)]);
    const e = (await new EventReader(child).next(() => true, timeoutMs + 5_000)) as { status?: ProbeStatus; banner?: string } | null;
    this.kill(child);
    return { status: e?.status ?? 'error', banner: e?.banner ?? '' };
  }

  /** Open a long-lived TCP connection from `ns`; use connected()/exchange() on it. Killed by cleanup(). */
  tcpClient(ns: string, host: string, port: number): TcpClient {
    return new TcpClient(this.spawn(ns, [process.execPath, '-e', CLIENT_JS, host, String(port)]));
  }

  /** Kill every child by PID, then delete every namespace this lab made. Safe to call twice. */
  cleanup(): void {
    for (const c of [...this.children]) this.kill(c);
    for (const ns of this.namespaces.splice(0).reverse()) deleteNamespace(ns);
  }

  private kill(child: ChildProcess): void {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.children.delete(child);
  }

  private own(ns: string): void {
    if (!this.namespaces.includes(ns)) throw new Error(`namespace ${ns} was not made by this lab`);
  }
}

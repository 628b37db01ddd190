/**
 * An isolated world for end-to-end tests and the demo, made of network namespaces this process
 * creates and deletes itself (RFC 5737 addresses, no route off the machine):
 *
 *   cli 198.51.100.2 ─┐
 *   atk 198.51.100.3 ─┼─ br0 (in ns "lan") ─ srv 198.51.100.1 ── int0 203.0.113.1 ── int 203.0.113.2
 *   (fleet)           └─ srb 198.51.100.4
 *
 * srv runs the real tumblerd (monitor + unprivileged worker), nftables, libpcap and an OpenSSH
 * server; int runs a second sshd (gateway case). The client runs as the unprivileged `tmbuser`
 * through the setuid raw-socket helper. Every process is killed by PID, every namespace deleted.
 * World.create(tag, { fleet: true }) adds a second gateway, srb (its own tumblerd and sshd), and a
 * throwaway PostgreSQL cluster (Unix socket in the world's directory, reachable from every
 * namespace) that both gateways use as their store: gateway A is `srv` ("gw-a"), B is `srb` ("gw-b").
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTcpdump, stopTcpdump } from '../helpers/tcpdump.js';
import { TestPostgres } from '../helpers/postgres.js';
import { deleteNamespace } from '../helpers/netns.js';
import { readSyns, type CapturedSyn } from './tools/pcap-file.js';
import { MONITOR_NODE_FLAGS } from '../../server/monitor/node-flags.js';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const SERVER_ADDR = '198.51.100.1';
export const CLIENT_ADDR = '198.51.100.2';
export const ATTACKER_ADDR = '198.51.100.3';
export const INTERNAL_ADDR = '203.0.113.2';
export const GATEWAY_B_ADDR = '198.51.100.4';
export const KNOCK_RANGE = { first: 40000, last: 40999 };
export const FORWARD_RANGE = { first: 50000, last: 50999 };
export const CLIENT_USER = 'tmbuser';
export const WORKER_USER = 'tumbler';
export const PASSWORD = 'correct horse battery staple';
/** The client as users run it (package.json "bin"): the bundle built by scripts/build-client.mjs. */
export const CLIENT_BIN = join(REPO, 'dist/client/bin/tumbler.cjs');
/** The ssh connector (ProxyUseFdpass), built by scripts/build-native.mjs. */
export const CONNECTOR_BIN = join(REPO, 'client/connector/tumbler-connect');

export type Probe = 'connected' | 'refused' | 'timeout';
export interface SshOptions { profile?: string; service?: string; host?: string; port?: number; command: string; connector?: boolean }
export interface RunResult { code: number | null; stdout: string; stderr: string }

function sh(cmd: string, args: string[], input?: string): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
function must(cmd: string, args: string[]): string {
  const r = sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}
function idOf(user: string): { uid: number; gid: number } {
  return { uid: Number(must('id', ['-u', user]).trim()), gid: Number(must('id', ['-g', user]).trim()) };
}

/** One gateway of the world: its namespace, address, config and the real tumblerd running there. */
export class Gateway {
  daemon: ChildProcess | null = null;
  daemonLog = '';

  constructor(
    private readonly world: World,
    readonly name: string,
    readonly ns: string,
    readonly address: string,
    readonly configPath: string,
  ) {}

  /** The pid file `startDaemon` gives `tumblerd run` (status and restore read it). */
  get pidFile(): string {
    return join(this.world.dir, `tumblerd-${this.name}.pid`);
  }

  /** `tumblerd` admin command inside this gateway's namespace (as root, like an admin would). */
  admin(args: string[]): RunResult {
    return sh('ip', ['netns', 'exec', this.ns, process.execPath, join(REPO, 'dist/server/main.js'), '--config', this.configPath, ...args]);
  }

  /** Start the real daemon; resolves when its worker reports ready (or at once with { ready: false }). */
  async startDaemon(o: { ready?: boolean } = {}): Promise<void> {
    const d = this.world.spawnTracked('ip', ['netns', 'exec', this.ns, process.execPath, ...MONITOR_NODE_FLAGS, join(REPO, 'dist/server/main.js'),
      '--config', this.configPath, 'run', '--pid-file', this.pidFile], { stdio: 'pipe' });
    this.daemon = d;
    this.daemonLog = '';
    d.stdout!.on('data', (b: Buffer) => { this.daemonLog += b.toString(); });
    d.stderr!.on('data', (b: Buffer) => { this.daemonLog += b.toString(); });
    if (o.ready !== false) await this.waitForLog('"worker.ready"', 30_000);
  }

  /** Waits for an event name in the daemon's JSON log (readiness only; tests assert on behaviour). */
  async waitForLog(needle: string, timeoutMs: number, from = 0): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.daemonLog.includes(needle, from)) {
      if (Date.now() > until) throw new Error(`${this.name}: daemon did not log ${needle} in ${timeoutMs} ms:\n${this.daemonLog.slice(-3000)}`);
      if (this.daemon && this.daemon.exitCode !== null) throw new Error(`${this.name}: daemon exited ${this.daemon.exitCode}:\n${this.daemonLog.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stopDaemon(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const d = this.daemon;
    if (!d || d.exitCode !== null || d.signalCode !== null) return;
    await new Promise<void>((r) => { d.once('exit', () => r()); d.kill(signal); });
    this.daemon = null;
  }

  /** SIGKILL to the whole gateway at once: the monitor, its worker, its nft session (a host dying). */
  async killDaemon(): Promise<void> {
    const d = this.daemon;
    if (!d?.pid) return;
    const exited = new Promise<void>((r) => { if (d.exitCode !== null || d.signalCode !== null) r(); else d.once('exit', () => r()); });
    for (const pid of [...World.descendants(d.pid), d.pid]) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await exited;
    this.daemon = null;
  }

  /** The current worker's pid, from the monitor's last `worker.started` event. */
  workerPid(): number | undefined {
    const started = this.daemonLog.split('\n').filter((l) => l.includes('"worker.started"'));
    const last = started.at(-1);
    return last ? (JSON.parse(last) as { worker: number }).worker : undefined;
  }

  nft(args: string[]): RunResult {
    return sh('ip', ['netns', 'exec', this.ns, 'nft', ...args]);
  }

  /** Elements in the kernel's IPv4 (or IPv6) grant map (each one an open address . port). */
  grantCount(family: 4 | 6 = 4): number {
    return this.grantSources(family).length;
  }

  /** The source address of every grant in the kernel's map (one entry per grant). */
  grantSources(family: 4 | 6 = 4): string[] {
    const r = this.nft(['-j', 'list', 'map', 'inet', 'tumbler', `grants${family}`]);
    const j = JSON.parse(r.stdout) as { nftables: Array<{ map?: { elem?: unknown[] } }> };
    const elems = j.nftables.find((x) => x.map)?.map?.elem ?? [];
    // Each element is [key, value]; the key is {elem: {val: {concat: [address, port]}}} (with a timeout) or {concat: [...]}.
    return elems.map((e) => {
      const key = (Array.isArray(e) ? e[0] : e) as { elem?: { val?: { concat?: unknown[] } }; concat?: unknown[] };
      return String((key.elem?.val?.concat ?? key.concat ?? [])[0]);
    });
  }
}

export class World {
  /** Root-owned 0600 password file for the admin; `clientPasswordFile` is the client user's copy. */
  readonly passwordFile: string;
  readonly clientPasswordFile: string;
  readonly dir: string;
  readonly ns: { lan: string; srv: string; cli: string; atk: string; int: string; srb: string };
  private readonly procs = new Set<ChildProcess>();
  readonly configPath: string;
  readonly helperPath: string;
  readonly clientHome: string;
  /** The client user's XDG_RUNTIME_DIR (0700, its own): where its agent's socket goes, private to this world. */
  readonly clientRuntime: string;
  readonly dbPath: string;
  /** Gateway A (srv) always; B (srb) in a fleet world. */
  readonly gateways: Gateway[];
  /** The fleet's PostgreSQL (fleet worlds only). */
  pg: TestPostgres | null = null;
  pgUrl = '';

  protected constructor(tag: string, readonly fleet = false) {
    const p = `tmb${process.pid % 100000}${tag}`;
    this.ns = { lan: `${p}-lan`, srv: `${p}-srv`, cli: `${p}-cli`, atk: `${p}-atk`, int: `${p}-int`, srb: `${p}-srb` };
    this.dir = mkdtempSync(join(tmpdir(), 'tumbler-e2e-'));
    chmodSync(this.dir, 0o755);
    this.configPath = join(this.dir, 'tumblerd.toml');
    this.helperPath = join(this.dir, 'bin', 'tumbler-helper');
    this.clientHome = join(this.dir, 'home');
    this.clientRuntime = join(this.dir, 'run');
    this.dbPath = join(this.dir, 'state', 'tumbler.db');
    this.passwordFile = join(this.dir, 'password');
    this.clientPasswordFile = join(this.clientHome, 'password');
    this.gateways = [new Gateway(this, 'gw-a', this.ns.srv, SERVER_ADDR, this.configPath)];
    if (fleet) this.gateways.push(new Gateway(this, 'gw-b', this.ns.srb, GATEWAY_B_ADDR, join(this.dir, 'tumblerd-b.toml')));
  }

  /** Build the namespaces, addresses, sshd's, config and the setuid helper (and the fleet's PostgreSQL). */
  static create(tag = 'w', o: { fleet?: boolean } = {}): World {
    return World.built(new World(tag, o.fleet === true), (w) => {
      w.buildNetwork();
      if (w.fleet) {
        w.pg = TestPostgres.start();
        w.pgUrl = w.pg.createDatabase('tumbler');
      }
      w.prepareFiles();
      for (const g of w.gateways) w.startSshd(g.ns, g.address);
      w.startSshd(w.ns.int, INTERNAL_ADDR);
    });
  }

  /** Runs `setup` on a new world (this one or a subclass's); a failure part-way destroys what it made. */
  protected static built<W extends World>(w: W, setup: (w: W) => void): W {
    try {
      setup(w);
    } catch (e) {
      w.destroy();
      throw e;
    }
    return w;
  }

  /** Gateway A (the only one in a single-host world). */
  get a(): Gateway {
    return this.gateways[0]!;
  }

  get b(): Gateway {
    const g = this.gateways[1];
    if (!g) throw new Error('not a fleet world');
    return g;
  }

  get daemon(): ChildProcess | null {
    return this.a.daemon;
  }

  get daemonLog(): string {
    return this.a.daemonLog;
  }

  /** Fresh namespaces with loopback up (a leftover of a crashed run with the same pid is removed first). */
  protected addNamespaces(names: readonly string[]): void {
    for (const n of names) {
      sh('ip', ['netns', 'del', n]);
      must('ip', ['netns', 'add', n]);
      must('ip', ['-n', n, 'link', 'set', 'lo', 'up']);
    }
  }

  protected buildNetwork(): void {
    const { lan, srv, cli, atk, int, srb } = this.ns;
    this.addNamespaces([lan, srv, cli, atk, int, ...(this.fleet ? [srb] : [])]);
    must('ip', ['-n', lan, 'link', 'add', 'br0', 'type', 'bridge']);
    must('ip', ['-n', lan, 'link', 'set', 'br0', 'up']);
    const hosts: Array<[string, string, string]> = [[srv, 'vsrv', `${SERVER_ADDR}/24`], [cli, 'vcli', `${CLIENT_ADDR}/24`], [atk, 'vatk', `${ATTACKER_ADDR}/24`]];
    if (this.fleet) hosts.push([srb, 'vsrb', `${GATEWAY_B_ADDR}/24`]);
    for (const [n, port, addr] of hosts) {
      must('ip', ['-n', lan, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n]);
      must('ip', ['-n', lan, 'link', 'set', port, 'master', 'br0', 'up']);
      must('ip', ['-n', n, 'addr', 'add', addr, 'dev', 'eth0']);
      must('ip', ['-n', n, 'link', 'set', 'eth0', 'up']);
    }
    // Internal network behind the gateway; int routes only the client LAN back through srv.
    must('ip', ['-n', srv, 'link', 'add', 'int0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', int]);
    must('ip', ['-n', srv, 'addr', 'add', '203.0.113.1/24', 'dev', 'int0']);
    must('ip', ['-n', srv, 'link', 'set', 'int0', 'up']);
    must('ip', ['-n', int, 'addr', 'add', `${INTERNAL_ADDR}/24`, 'dev', 'eth0']);
    must('ip', ['-n', int, 'link', 'set', 'eth0', 'up']);
    must('ip', ['-n', int, 'route', 'add', '198.51.100.0/24', 'via', '203.0.113.1']);
    must('ip', ['netns', 'exec', srv, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }

  protected prepareFiles(): void {
    const client = idOf(CLIENT_USER);
    const worker = idOf(WORKER_USER);
    // ssh keys: the server's host key and the client user's login key.
    must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(this.dir, 'host_key')]);
    mkdirSync(this.clientHome, { mode: 0o700 });
    must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(this.clientHome, 'id_ed25519')]);
    writeFileSync(join(this.dir, 'authorized_keys'), readFileSync(join(this.clientHome, 'id_ed25519.pub')), { mode: 0o644 });
    for (const f of ['', 'id_ed25519', 'id_ed25519.pub']) chownSync(join(this.clientHome, f), client.uid, client.gid);
    // Password files are refused when group/world-readable: one for the admin (root), one for the client user.
    writeFileSync(this.passwordFile, PASSWORD + '\n', { mode: 0o600 });
    writeFileSync(this.clientPasswordFile, PASSWORD + '\n', { mode: 0o600 });
    chownSync(this.clientPasswordFile, client.uid, client.gid);
    mkdirSync(this.clientRuntime, { mode: 0o700 });
    chownSync(this.clientRuntime, client.uid, client.gid);
    // The worker's state directory belongs to the worker account.
    mkdirSync(join(this.dir, 'state'), { mode: 0o700 });
    chownSync(join(this.dir, 'state'), worker.uid, worker.gid);
    // The raw-socket helper, installed setuid root as `tumbler install-helper --mode setuid` would.
    mkdirSync(join(this.dir, 'bin'), { mode: 0o755 });
    const built = join(REPO, 'client', 'helper', 'tumbler-helper');
    if (!existsSync(built)) throw new Error('client/helper/tumbler-helper is not built: run `npm run build`');
    copyFileSync(built, this.helperPath);
    chmodSync(this.helperPath, 0o4755);
    this.writeConfig({});
  }

  /** tumblerd.toml per gateway: this world's addresses and services unless given (a subclass's topology). */
  writeConfig(o: { window?: number; grace?: number; ttl?: number; addresses?: readonly string[]; services?: string; firewall?: 'nftables' | 'iptables'; extra?: string }): void {
    const store = this.fleet
      ? `[store]\nbackend = "postgres"\nurl = "${this.pgUrl}"\n`
      : `[store]\nbackend = "sqlite"\npath = "${this.dbPath}"\n`;
    // One host: the bundle lists its [server] addresses (the default); a fleet: every gateway.
    const gateways = this.fleet ? `gateways = [${this.gateways.map((x) => `["${x.address}"]`).join(', ')}]\n` : '';
    for (const g of this.gateways) {
      const addresses = g === this.a && o.addresses ? o.addresses : [g.address];
      writeFileSync(g.configPath, `# written by test/e2e/world.ts
[server]
interfaces = ["eth0"]
addresses = ${JSON.stringify(addresses)}
user = "${WORKER_USER}"
log_format = "json"
firewall = "${o.firewall ?? 'nftables'}"

${store}
[fleet]
gateway = "${g.name}"
${gateways}
[knock]
ports = "${KNOCK_RANGE.first}-${KNOCK_RANGE.last}"
timestamp_window = ${o.window ?? 30}
grace = ${o.grace ?? 30}

[grant]
ports = "${FORWARD_RANGE.first}-${FORWARD_RANGE.last}"
default_ttl = ${o.ttl ?? 30}
max_ttl = 300

${o.services ?? `[services.ssh]
id = 1
target = "${g.address}:22"

[services.inner]
id = 2
target = "${INTERNAL_ADDR}:22"`}
${o.extra ?? ''}`, { mode: 0o644 });
    }
  }

  /** An sshd in `ns` on port 22 of each address given. */
  protected startSshd(ns: string, addrs: string | readonly string[]): void {
    const cfg = join(this.dir, `sshd_${ns}.conf`);
    writeFileSync(cfg, [
      'Port 22', ...[addrs].flat().map((a) => `ListenAddress ${a}`), `HostKey ${join(this.dir, 'host_key')}`, 'PidFile none',
      `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')}`, 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
      'UsePAM no', 'StrictModes no', `AllowUsers ${CLIENT_USER}`, 'PrintMotd no', 'LogLevel ERROR', '',
    ].join('\n'));
    mkdirSync('/run/sshd', { recursive: true });
    this.spawnTracked('ip', ['netns', 'exec', ns, '/usr/sbin/sshd', '-D', '-e', '-f', cfg]);
  }

  spawnTracked(cmd: string, args: string[], opts: { stdio?: 'pipe' | 'ignore'; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
    const c = spawn(cmd, args, { stdio: opts.stdio === 'pipe' ? ['ignore', 'pipe', 'pipe'] : 'ignore', env: opts.env ?? process.env });
    this.procs.add(c);
    c.on('exit', () => this.procs.delete(c));
    return c;
  }

  /** `tumblerd` admin command on gateway A (as root, like an admin would). */
  admin(args: string[]): RunResult {
    return this.a.admin(args);
  }

  /** Start gateway A's daemon; resolves when its worker reports ready. */
  startDaemon(): Promise<void> {
    return this.a.startDaemon();
  }

  waitForLog(needle: string, timeoutMs: number, from = 0): Promise<void> {
    return this.a.waitForLog(needle, timeoutMs, from);
  }

  stopDaemon(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    return this.a.stopDaemon(signal);
  }

  /** Elements in gateway A's IPv4 (or IPv6) grant map (each one an open address . port). */
  grantCount(family: 4 | 6 = 4): number {
    return this.a.grantCount(family);
  }

  /** The source address of every grant in gateway A's kernel map. */
  grantSources(family: 4 | 6 = 4): string[] {
    return this.a.grantSources(family);
  }

  workerPid(): number | undefined {
    return this.a.workerPid();
  }

  /**
   * tcpdump on `ns`'s eth0 with `filter`, resolved once tcpdump says it is capturing (a fixed pause
   * is too short on a loaded machine); stop() ends it and returns the SYNs it wrote to `file`.
   * `asRoot`: `-Z root`, tcpdump keeps root instead of dropping to its own account.
   */
  async startCapture(ns: string, filter: string, o: { asRoot?: boolean } = {}): Promise<{ file: string; stop(): Promise<CapturedSyn[]> }> {
    const file = join(this.dir, `cap-${Date.now()}-${Math.random().toString(16).slice(2)}.pcap`);
    // --immediate-mode: each packet reaches tcpdump at once, not when a capture block times out.
    const td = await startTcpdump(ns, [...(o.asRoot ? ['-Z', 'root'] : []), '--immediate-mode', '-U', '-n', '-i', 'eth0', '-w', file, filter],
      { spawner: (cmd, args) => this.spawnTracked(cmd, args, { stdio: 'pipe' }) });
    return {
      file,
      async stop() {
        await new Promise((r) => setTimeout(r, 300));
        await stopTcpdump(td);
        return readSyns(file);
      },
    };
  }

  /** Capture knock SYNs arriving in namespace `ns` while `fn` runs. */
  async captureKnockSyns<T>(ns: string, fn: () => T | Promise<T>): Promise<{ result: T; syns: CapturedSyn[] }> {
    const cap = await this.startCapture(ns, `tcp[13] == 2 and dst portrange ${KNOCK_RANGE.first}-${KNOCK_RANGE.last}`);
    const result = await fn();
    return { result, syns: await cap.stop() };
  }

  /** Crafted SYNs from namespace `ns` (test/e2e/tools/send-syns.ts): `--packets PORT:ISN,...` or `--random N ...`. */
  sendSyns(ns: string, src: string, dst: string, args: string[]): RunResult {
    return sh('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(REPO, 'test/e2e/tools/send-syns.ts'), '--src', src, '--dst', dst, ...args]);
  }

  /** Enroll a user+device on the server and on the client (as tmbuser); returns the profile name. */
  enroll(user: string, opts: { device?: string; services?: string; profile?: string; ns?: string; server?: string; clientArgs?: string[] } = {}): string {
    const device = opts.device ?? 'laptop';
    const bundleFile = join(this.dir, `${user}-${device}.bundle`);
    const server = opts.server ? ['--server', opts.server] : [];
    const args = opts.device && this.admin(['user', 'list', '--json']).stdout.includes(`"${user}"`)
      ? ['device', 'add', user, device, '--password-file', this.passwordFile, '--out', bundleFile, ...server]
      : ['user', 'add', user, '--device', device, '--services', opts.services ?? 'ssh,inner', '--password-file', this.passwordFile, '--out', bundleFile, ...server];
    const r = this.admin(args);
    if (r.code !== 0) throw new Error(`enroll ${user}: ${r.stderr}`);
    chmodSync(bundleFile, 0o644); // handed to the device owner
    const profile = opts.profile ?? `${user}-${device}`;
    const e = this.client(['enroll', bundleFile, '--name', profile, '--password-file', this.clientPasswordFile, ...(opts.clientArgs ?? [])], { ns: opts.ns });
    if (e.code !== 0) throw new Error(`client enroll: ${e.stderr}`);
    return profile;
  }

  /** uid and gid of the unprivileged client account. */
  clientIds(): { uid: number; gid: number } {
    return idOf(CLIENT_USER);
  }

  clientEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH, HOME: this.clientHome, XDG_CONFIG_HOME: join(this.clientHome, '.config'), XDG_RUNTIME_DIR: this.clientRuntime,
      TUMBLER_HELPER: this.helperPath, ...extra,
    };
  }

  /** argv that runs `tumbler ARGS` as the unprivileged client user inside the client namespace. */
  clientArgv(args: string[], ns = this.ns.cli, prefix: string[] = []): string[] {
    const u = idOf(CLIENT_USER);
    return ['netns', 'exec', ns, 'setpriv', `--reuid=${u.uid}`, `--regid=${u.gid}`, '--init-groups', '--',
      ...prefix, process.execPath, CLIENT_BIN, ...args];
  }

  client(args: string[], o: { ns?: string; env?: NodeJS.ProcessEnv; prefix?: string[] } = {}): RunResult {
    const r = spawnSync('ip', this.clientArgv(args, o.ns, o.prefix), { encoding: 'utf8', env: this.clientEnv(o.env), timeout: 60_000 });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** TCP connect from a namespace: connected, refused (RST) or timeout (silence). */
  probe(ns: string, host: string, port: number, timeoutSec = 1): Probe {
    const r = sh('ip', ['netns', 'exec', ns, 'timeout', String(timeoutSec), 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`]);
    if (r.code === 0) return 'connected';
    return r.code === 124 ? 'timeout' : 'refused';
  }

  /**
   * Plain OpenSSH client as tmbuser in `ns`, running `command` remotely; with `profile`, through
   * `tumbler proxy` (ProxyCommand), or through tumbler-connect (ProxyUseFdpass) with `connector`.
   */
  sshArgv(ns: string, opts: SshOptions): string[] {
    const u = idOf(CLIENT_USER);
    const ssh = ['ssh', '-F', '/dev/null', '-i', join(this.clientHome, 'id_ed25519'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR'];
    if (opts.profile && opts.connector) {
      ssh.push('-o', `ProxyCommand=${CONNECTOR_BIN} ${opts.profile} ${opts.service ?? 'ssh'}`, '-o', 'ProxyUseFdpass=yes');
    } else if (opts.profile) {
      ssh.push('-o', `ProxyCommand=${process.execPath} ${CLIENT_BIN} proxy ${opts.profile} ${opts.service ?? 'ssh'}`);
    }
    if (opts.port) ssh.push('-p', String(opts.port));
    ssh.push(`${CLIENT_USER}@${opts.host ?? SERVER_ADDR}`, opts.command);
    const env = Object.entries(this.clientEnv({ TUMBLER_CLI: CLIENT_BIN })).filter(([k]) => k !== 'PATH').map(([k, v]) => `${k}=${v}`);
    return ['netns', 'exec', ns, 'setpriv', `--reuid=${u.uid}`, `--regid=${u.gid}`, '--init-groups', '--', 'env', ...env, ...ssh];
  }

  ssh(ns: string, opts: SshOptions): RunResult {
    const r = spawnSync('ip', this.sshArgv(ns, opts), { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  nft(args: string[]): RunResult {
    return this.a.nft(args);
  }

  /** A command in gateway A's namespace, as root (another tool on the gateway: iptables, ipset...). */
  inServer(argv: string[]): RunResult {
    return sh('ip', ['netns', 'exec', this.a.ns, ...argv]);
  }

  /** PIDs of every descendant of `pid` (children first found, then theirs). */
  static descendants(pid: number): number[] {
    const out: number[] = [];
    const queue = [pid];
    while (queue.length) {
      const kids = sh('pgrep', ['-P', String(queue.shift())]).stdout.trim().split('\n').filter(Boolean).map(Number);
      out.push(...kids);
      queue.push(...kids);
    }
    return out;
  }

  /** Whether `pid` runs: it exists and is not a zombie waiting for a reaper (whoever adopted it may not reap at once). */
  static alive(pid: number): boolean {
    try {
      return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  }

  destroy(): void {
    for (const p of this.procs) {
      if (!p.pid) continue;
      for (const pid of [...World.descendants(p.pid), p.pid]) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }
    this.procs.clear();
    this.pg?.stop();
    for (const n of Object.values(this.ns)) deleteNamespace(n);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

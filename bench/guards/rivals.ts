/**
 * Shared plumbing for the rival guards (fwknop, knockd): iptables in the World's server namespace,
 * the default-drop rule for sshd, readiness by a real knock, and stopping a daemon by PID.
 */
import { execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { SERVER_ADDR, type World } from '../../test/e2e/world.js';

/** Our own chain holding the default for everyone: new TCP to sshd is dropped (silence, no RST). */
export const DROP_CHAIN = 'BENCH_SSH_DROP';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const execFileP = promisify(execFile);
const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

export function inNs(ns: string, argv: string[], timeoutMs = 15_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** iptables in the server namespace; throws on failure unless `mayFail`. */
export function ipt(w: World, args: string[], mayFail = false): boolean {
  // -w: wait for the xtables lock rather than fail when a daemon's own iptables call holds it.
  const r = inNs(w.ns.srv, ['iptables', '-w', '5', ...args]);
  if (r.code !== 0 && !mayFail) throw new Error(`iptables ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.code === 0;
}

/** Create `chain` and jump to it from the end of INPUT (guards' accept chains sit before it). */
export function addChain(w: World, chain: string, rules: string[][]): void {
  ipt(w, ['-N', chain]);
  for (const r of rules) ipt(w, ['-A', chain, ...r]);
  ipt(w, ['-A', 'INPUT', '-j', chain]);
}

/** The default: drop every new TCP connection to sshd (grants are ACCEPTs evaluated before it). */
export function addDefaultDrop(w: World): void {
  addChain(w, DROP_CHAIN, [['-d', SERVER_ADDR, '-p', 'tcp', '--dport', '22', '--syn', '-j', 'DROP']]);
}

/** Remove every INPUT jump to `chain`, then the chain itself; silent when already gone. */
export function removeChain(w: World, chain: string): void {
  for (let i = 0; i < 10 && ipt(w, ['-D', 'INPUT', '-j', chain], true); i++);
  ipt(w, ['-F', chain], true);
  ipt(w, ['-X', chain], true);
}

/**
 * Readiness by behaviour: knock from the client until sshd accepts a connection from it. The
 * daemon's "capturing" line (waitForOutput) comes first so the first knock is not wasted, but only
 * a grant proves the whole path (pcap, filter, keys, iptables in this namespace). Returns the
 * number of knocks it took.
 */
export async function waitUntilKnockOpens(w: World, argv: string[], daemon: ChildProcess, timeoutMs = 20_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (let knocks = 1; Date.now() < until; knocks++) {
    if (exited(daemon)) throw new Error(`daemon exited (${daemon.exitCode ?? daemon.signalCode}) before it was ready`);
    // Async, so the daemon's output keeps being read meanwhile (w.probe below blocks the loop).
    await execFileP('ip', ['netns', 'exec', w.ns.cli, ...argv], { timeout: 15_000 }).catch((e: Error & { stderr?: string }) => {
      throw new Error(`knock ${argv.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
    });
    // A dropped SYN is only retried after 1 s, so probe with fresh short-lived connects instead.
    for (let i = 0; i < 10; i++) if (w.probe(w.ns.cli, SERVER_ADDR, 22, 0.3) === 'connected') return knocks;
    await sleep(200);
  }
  throw new Error(`no grant within ${timeoutMs} ms of knocking (${argv.join(' ')})`);
}

/** Waits until the daemon printed `needle` (its own "capturing now" line): saves a blind first knock. */
export async function waitForOutput(log: () => string, needle: string, daemon: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!log().includes(needle)) {
    if (exited(daemon)) throw new Error(`daemon exited (${daemon.exitCode ?? daemon.signalCode}) before printing "${needle}"`);
    if (Date.now() > until) throw new Error(`daemon did not print "${needle}" in ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** SIGTERM by PID (lets the daemon run its own firewall cleanup), SIGKILL after `graceMs`. */
export async function stopByPid(c: ChildProcess | undefined, graceMs = 5000): Promise<void> {
  if (!c?.pid || exited(c)) return;
  const gone = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

/** A daemon's output for error messages: its first 4 KiB and last `max` characters, never all of it
 * (output under a flood could be large); reading it also keeps the pipe from filling and blocking. */
export function tailOf(c: ChildProcess, max = 8192): () => string {
  let buf = '';
  let head = ''; // the first lines too, where the readiness line is
  const add = (b: Buffer) => { if (head.length < 4096) head += b.toString(); buf = (buf + b.toString()).slice(-max); };
  c.stdout?.on('data', add);
  c.stderr?.on('data', add);
  return () => (head.length < 4096 ? head : `${head}\n…\n${buf}`);
}

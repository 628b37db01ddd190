/**
 * Deletions in the kernel's nftables ruleset as they happen, from a long-lived `nft monitor destroy`
 * child (the monitor's drift guard wakes on them; its periodic check is the backstop). nftables
 * reports every deletion, ours and other tools', in every table — also the iptables-nft tables —
 * but nothing about ipsets or iptables-legacy. Only deletions where our state lives count. The child is restarted with backoff when it exits;
 * without an `nft` binary there are no events at all (`live` stays false). Lines are classified
 * without keeping them; an over-long line is dropped.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { RestartBackoff } from '../child.js';
import { TOOL_ENV } from './run.js';

/** What a line of `nft monitor destroy` means for us: a piece of our state went, one of our grants went, or nothing. */
export type EventKind = 'structure' | 'grant' | null;

/** Where our state lives: our own inet table (nftables backend), or iptables-nft's ip/ip6 filter and nat tables. */
export type Watched = { readonly backend: 'nftables' | 'iptables'; readonly table: string };

const MAX_LINE = 64 * 1024;
const RESTART_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

/** Classify one line ("delete <object> <family> <table> ..."); deletions elsewhere are nothing to us. */
export function classifyEvent(line: string, w: Watched): EventKind {
  const [verb, object, family, table] = line.split(' ', 4);
  if (verb !== 'delete' || !object || !family || !table) return null;
  const ours = w.backend === 'nftables'
    ? family === 'inet' && table === w.table
    : (family === 'ip' || family === 'ip6') && (table === 'filter' || table === 'nat');
  if (!ours) return null;
  if (object === 'element') return w.backend === 'nftables' ? 'grant' : null;
  return /^(table|chain|rule|set|map)$/.test(object) ? 'structure' : null;
}

export interface EventSourceOptions {
  /** argv prefix (tests: `ip netns exec NS`). */
  readonly commandPrefix?: readonly string[];
  /** What is ours. */
  readonly watched: Watched;
  readonly onEvent: (kind: Exclude<EventKind, null>) => void;
  /** The child (re)started: events may have been missed meanwhile. */
  readonly onStart?: () => void;
}

export class NftEventSource {
  private child: ChildProcessWithoutNullStreams | null = null;
  private stopped = false;
  private readonly backoff = new RestartBackoff(RESTART_MS);
  private timer: NodeJS.Timeout | null = null;
  private missing = false;

  constructor(private readonly o: EventSourceOptions) {}

  /** Whether a child is running (deletions are seen as they happen). */
  get live(): boolean {
    return this.child !== null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.stopped || this.child || this.missing) return;
    const [cmd, ...args] = [...(this.o.commandPrefix ?? []), 'nft', 'monitor', 'destroy'];
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'], env: TOOL_ENV });
    this.child = child;
    const startedAt = Date.now();
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      pending += d;
      if (pending.length > MAX_LINE && !pending.includes('\n')) pending = ''; // one over-long line: dropped
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const kind = classifyEvent(pending.slice(0, nl), this.o.watched);
        pending = pending.slice(nl + 1);
        if (kind) this.o.onEvent(kind);
      }
    });
    child.stderr.resume();
    child.stdin.end();
    child.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return; // the close handler restarts it
      this.missing = true; // no nft on this host: the periodic check alone
      if (this.child === child) this.child = null;
    });
    child.on('close', () => {
      if (this.child !== child) return;
      this.child = null;
      if (this.stopped || this.missing) return;
      const delay = this.backoff.next(startedAt);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.start();
      }, delay);
      this.timer.unref();
    });
    this.o.onStart?.();
  }

  /** End the child (by its PID) and stop restarting it. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('close', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

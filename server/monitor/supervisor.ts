/**
 * The privileged monitor's worker supervision: starts the unprivileged worker with the monitor
 * channel on fd 3 and the exact config text the monitor parsed on fd 4 (so both always run one
 * config, whatever happens to the file), answers its requests through the Dispatcher, and on an
 * incident (verdict.ts) kills it with SIGKILL and restarts it with backoff. It imports nothing
 * that parses packets or touches a database.
 *
 * Requests are answered strictly in order. Frames that arrive while earlier ones are still being
 * served wait in an inbox and are handed to the Dispatcher together (consecutive opens then share
 * one firewall transaction). More than MAX_OUTSTANDING unanswered requests is an incident.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { encodeFrame, FrameDecoder, MAX_OUTSTANDING } from '../../shared/ipc/index.js';
import { isTumblerError } from '../../shared/errors.js';
import type { TumblerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { createCounters, recordIncident, type MonitorCounters } from './counters.js';
import { Dispatcher } from './dispatch.js';
import type { FirewallBackend } from './firewall/types.js';
import { EXIT_CONFIG } from '../exit-codes.js';
import { RestartBackoff, stopChild } from './child.js';
import { GrantBook } from './grant-book.js';
import { MONITOR_NODE_FLAGS, WORKER_NODE_FLAGS } from './node-flags.js';

const BACKOFF_MS = [500, 1_000, 2_000, 5_000, 10_000, 30_000];
/** Requests handed to the Dispatcher at once (one nft transaction holds their opens). */
export const MAX_BATCH = 64;

/** The descriptors the worker finds: the monitor channel and the config text. */
export const WORKER_CHANNEL_FD = 3;
export const WORKER_CONFIG_FD = 4;

export interface SupervisorOptions {
  readonly config: TumblerConfig;
  /** The config file's text as the monitor read and parsed it; the worker parses this same text. */
  readonly configText: string;
  readonly firewall: FirewallBackend;
  readonly log: Logger;
  /** The monitor's record of open grants (default: a new one). */
  readonly book?: GrantBook;
  /** The monitor's counters (default: new ones). */
  readonly counters?: MonitorCounters;
  /** Restores the firewall when an open finds our table gone (the drift guard's restoreNow). */
  readonly restoreFirewall?: () => Promise<void>;
  /** The worker's argv (default: this Node with server/worker/main). Tests start a hostile worker here. */
  readonly workerArgv?: readonly string[];
  /** Restart delays, in order; the last repeats (default 0.5 s up to 30 s). */
  readonly backoffMs?: readonly number[];
  /** The worker exited 2 (bad config, database path or worker user): restarting cannot help. */
  readonly onFatal?: (exitCode: number) => void;
  /** Where the worker publishes its state (server/state/file.ts); none when absent. */
  readonly stateFile?: string;
}

/** The worker's exit status for errors no restart can fix (server/worker/main.ts). */

export class Supervisor {
  private child: ChildProcess | null = null;
  private readonly backoff: RestartBackoff;
  private stopping = false;
  readonly counters: MonitorCounters;
  readonly book: GrantBook;
  private readonly workerArgv: readonly string[];

  constructor(private readonly o: SupervisorOptions) {
    const self = fileURLToPath(import.meta.url);
    const ext = self.endsWith('.ts') ? '.ts' : '.js';
    const entry = fileURLToPath(new URL(`../worker/main${ext}`, import.meta.url));
    // The worker gets its own V8 flags, not the monitor's (node-flags.ts); other flags (e.g. a loader) pass on.
    const inherited = process.execArgv.filter((a) => !MONITOR_NODE_FLAGS.includes(a));
    this.workerArgv = o.workerArgv ?? [
      process.execPath, ...WORKER_NODE_FLAGS, ...inherited, entry,
      '--config', o.config.file, '--config-fd', String(WORKER_CONFIG_FD),
      ...(o.stateFile !== undefined ? ['--state-file', o.stateFile] : []),
    ];
    this.backoff = new RestartBackoff(o.backoffMs ?? BACKOFF_MS);
    this.counters = o.counters ?? createCounters();
    this.book = o.book ?? new GrantBook(undefined, this.counters.grants);
  }

  /** Incidents since start, by code (they outlive the worker that caused them). */
  get incidents(): Readonly<Record<string, number>> {
    return this.counters.incidents;
  }

  /** Workers started so far. */
  get starts(): number {
    return this.counters.workerStarts;
  }

  get workerPid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const { config, log } = this.o;
    const [cmd, ...args] = this.workerArgv;
    const child = spawn(cmd!, args, { stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'] });
    this.child = child;
    if (this.counters.workerStarts++ > 0) this.counters.workerRestarts++;
    const startedAt = Date.now();
    // The config the monitor runs, handed over whole; the worker never reads the file itself.
    const configPipe = child.stdio[WORKER_CONFIG_FD] as Writable;
    configPipe.on('error', () => undefined); // a worker that exits before reading it: its exit says why
    configPipe.end(this.o.configText);
    const channel = child.stdio[WORKER_CHANNEL_FD] as unknown as Readable & Writable;
    const dispatcher = new Dispatcher({
      config, firewall: this.o.firewall, book: this.book, counters: this.counters,
      ...(this.o.restoreFirewall && { restoreFirewall: this.o.restoreFirewall }),
    });
    const decoder = new FrameDecoder();
    let dead = false;
    const incident = (code: string): void => {
      if (dead) return;
      dead = true;
      recordIncident(this.counters, code, Date.now());
      log.log('error', 'monitor.incident', { code, worker: child.pid, action: 'kill_and_restart' });
      child.kill('SIGKILL');
    };
    // Frames wait here while earlier ones are served; `unanswered` counts them and those being served.
    const inbox: unknown[] = [];
    let unanswered = 0;
    let serving = false;
    const serve = async (): Promise<void> => {
      if (serving) return;
      serving = true;
      try {
        while (inbox.length > 0 && !dead) {
          const batch = inbox.splice(0, MAX_BATCH);
          const { answers, incident: broke } = await dispatcher.handleMany(batch);
          if (dead) return;
          for (const a of answers) channel.write(encodeFrame(a));
          unanswered -= batch.length;
          if (broke) {
            incident(broke.code);
            return;
          }
        }
      } finally {
        serving = false;
      }
    };
    channel.on('data', (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        incident(isTumblerError(e) ? e.code : 'IPC_BAD_JSON');
        return;
      }
      unanswered += frames.length;
      if (unanswered > MAX_OUTSTANDING) {
        incident('IPC_FLOOD');
        return;
      }
      inbox.push(...frames);
      void serve();
    });
    // A worker that hangs up in the middle of a frame broke the protocol too.
    channel.on('end', () => { if (decoder.buffered > 0) incident('IPC_TRUNCATED'); });
    channel.on('error', () => undefined);
    log.log('info', 'worker.started', { worker: child.pid });
    child.on('exit', (code, signal) => {
      dead = true;
      this.child = null;
      log.log(this.stopping ? 'info' : 'warn', 'worker.exited', { worker: child.pid, code, signal });
      if (this.stopping) return;
      if (code === EXIT_CONFIG && this.o.onFatal) {
        this.stopping = true;
        this.o.onFatal(EXIT_CONFIG);
        return;
      }
      const delay = this.backoff.next(startedAt);
      setTimeout(() => { if (!this.stopping) this.start(); }, delay);
    });
  }

  /** Stop the worker; the kernel keeps every grant with its own timeout (sessions are untouched). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child) await stopChild(this.child);
  }
}

/**
 * The privileged monitor process: installs the firewall state, starts the unprivileged worker with
 * the monitor channel on fd 3, answers its requests through the Dispatcher, and on an incident
 * (malformed frame, out-of-policy request) kills it and restarts it with backoff. It imports nothing
 * that parses packets or touches SQLite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { encodeFrame, FrameDecoder } from '../../shared/ipc/index.js';
import { isTumblerError } from '../../shared/errors.js';
import type { TumblerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { FirewallBackend } from './firewall/backend.js';
import { Dispatcher, Incident } from './dispatch.js';
import { MONITOR_NODE_FLAGS, WORKER_NODE_FLAGS } from './node-flags.js';

const BACKOFF_MS = [500, 1_000, 2_000, 5_000, 10_000, 30_000];
const STABLE_MS = 60_000;

export interface SupervisorOptions {
  readonly config: TumblerConfig;
  readonly firewall: FirewallBackend;
  readonly log: Logger;
  /** The worker's argv (default: this Node with server/worker/main and --config). Tests start a hostile worker here. */
  readonly workerArgv?: readonly string[];
  /** Restart delays, in order; the last repeats (default 0.5 s up to 30 s). */
  readonly backoffMs?: readonly number[];
  /** The worker exited 2 (bad config, database path or worker user): restarting cannot help. */
  readonly onFatal?: (exitCode: number) => void;
}

/** The worker's exit status for errors no restart can fix (server/worker/main.ts). */
export const WORKER_EXIT_CONFIG = 2;

export class Supervisor {
  private child: ChildProcess | null = null;
  private restarts = 0;
  private stopping = false;
  /** Incidents since start, by code (they outlive the worker that caused them). */
  readonly incidents: Record<string, number> = {};
  /** Workers started so far. */
  starts = 0;
  private readonly workerArgv: readonly string[];
  private readonly backoffMs: readonly number[];

  constructor(private readonly o: SupervisorOptions) {
    const self = fileURLToPath(import.meta.url);
    const ext = self.endsWith('.ts') ? '.ts' : '.js';
    const entry = fileURLToPath(new URL(`../worker/main${ext}`, import.meta.url));
    // The worker gets its own V8 flags, not the monitor's (node-flags.ts); other flags (e.g. a loader) pass on.
    const inherited = process.execArgv.filter((a) => !MONITOR_NODE_FLAGS.includes(a));
    this.workerArgv = o.workerArgv ?? [process.execPath, ...WORKER_NODE_FLAGS, ...inherited, entry, '--config', o.config.file];
    this.backoffMs = o.backoffMs ?? BACKOFF_MS;
  }

  get workerPid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    const { config, log } = this.o;
    const [cmd, ...args] = this.workerArgv;
    const child = spawn(cmd!, args, { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
    this.child = child;
    this.starts++;
    const startedAt = Date.now();
    const channel = child.stdio[3] as unknown as Readable & Writable;
    const dispatcher = new Dispatcher(config, this.o.firewall);
    const decoder = new FrameDecoder();
    let dead = false;
    const incident = (code: string): void => {
      if (dead) return;
      dead = true;
      this.incidents[code] = (this.incidents[code] ?? 0) + 1;
      log.log('error', 'monitor.incident', { code, worker: child.pid, action: 'kill_and_restart' });
      child.kill('SIGKILL');
    };
    // Requests are answered strictly in order: a slow firewall call delays the next answer,
    // never reorders it.
    let queue: Promise<void> = Promise.resolve();
    channel.on('data', (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        incident(isTumblerError(e) ? e.code : 'IPC_BAD_FRAME');
        return;
      }
      for (const f of frames) {
        queue = queue.then(async () => {
          if (dead) return;
          try {
            const answer = await dispatcher.handle(f);
            channel.write(encodeFrame(answer));
          } catch (e) {
            incident(e instanceof Incident || isTumblerError(e) ? (e as { code: string }).code : 'IPC_BAD_SHAPE');
          }
        });
      }
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
      if (code === WORKER_EXIT_CONFIG && this.o.onFatal) {
        this.stopping = true;
        this.o.onFatal(code);
        return;
      }
      if (Date.now() - startedAt > STABLE_MS) this.restarts = 0;
      const delay = this.backoffMs[Math.min(this.restarts, this.backoffMs.length - 1)]!;
      this.restarts++;
      setTimeout(() => { if (!this.stopping) this.start(); }, delay);
    });
  }

  /** Stop the worker; the kernel keeps every grant with its own timeout (sessions are untouched). */
  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (!c) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 3_000).unref();
    });
  }
}

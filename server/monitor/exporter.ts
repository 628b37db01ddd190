/**
 * The metrics exporter's process, started and restarted by the monitor when [metrics] listen is
 * set. The monitor itself serves nothing and loads no metrics library: it spawns
 * server/metrics/main with the `[metrics] user` account's uid and gid (libuv clears the
 * supplementary groups; a uid change clears every capability), passes it where to listen and
 * which state files to read, and restarts it with backoff if it dies. An exporter that exits 2
 * (it cannot listen there: address in use, no permission) is not restarted: the daemon goes on
 * without metrics and says so once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TumblerError } from '../../shared/errors.js';
import { findAccount, type AccountInfo } from '../account.js';
import { listenText } from '../config/metrics.js';
import { EXIT_CONFIG } from '../exit-codes.js';
import { RestartBackoff, stopChild } from './child.js';
import type { LogFormat, MetricsConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { StatePaths } from '../state/file.js';

const BACKOFF_MS = [1_000, 2_000, 5_000, 10_000, 30_000];
/** The exporter's status for a listen address it cannot use (server/metrics/main.ts). */

export interface ExporterOptions {
  readonly metrics: MetricsConfig;
  readonly paths: StatePaths;
  /** The worker's uid: the exporter reads only a worker state file that account owns. */
  readonly workerUid: number;
  readonly log: Logger;
  readonly logFormat: LogFormat;
  /** Test hook: the exporter's argv before its own arguments (default: this Node with server/metrics/main). */
  readonly entryArgv?: readonly string[];
}

/** The exporter's account: it must exist and must not be root. Throws PRIVSEP_USER. */
export function requireExporterAccount(name: string): AccountInfo {
  const a = findAccount(name);
  if (!a) throw new TumblerError('PRIVSEP_USER', `metrics user "${name}" does not exist (create it: useradd --system --no-create-home ${name})`);
  if (a.uid === 0 || a.gid === 0) throw new TumblerError('PRIVSEP_USER', `metrics user "${name}" is root or in group 0; the exporter must run unprivileged`);
  return a;
}

export class ExporterProcess {
  private child: ChildProcess | null = null;
  private readonly backoff = new RestartBackoff(BACKOFF_MS);
  private stopping = false;
  private readonly account: AccountInfo;
  private readonly argv: readonly string[];

  constructor(private readonly o: ExporterOptions) {
    this.account = requireExporterAccount(o.metrics.user);
    const self = fileURLToPath(import.meta.url);
    const entry = fileURLToPath(new URL(`../metrics/main${self.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
    const l = o.metrics.listen;
    this.argv = [
      ...(o.entryArgv ?? [process.execPath, ...process.execArgv, entry]),
      ...(l.kind === 'unix' ? ['--listen-path', l.path] : ['--listen-host', l.host, '--listen-port', String(l.port)]),
      '--monitor-state', o.paths.monitor, '--worker-state', o.paths.worker, '--worker-uid', String(o.workerUid), '--log-format', o.logFormat,
    ];
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.prepareSocketDirectory();
    this.spawnOnce();
  }

  /** A Unix socket's directory, when missing, is made for the exporter's account (0750). */
  private prepareSocketDirectory(): void {
    const l = this.o.metrics.listen;
    if (l.kind !== 'unix') return;
    const dir = dirname(l.path);
    if (existsSync(dir)) return;
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    chownSync(dir, this.account.uid, this.account.gid);
  }

  private spawnOnce(): void {
    const [cmd, ...args] = this.argv;
    const child = spawn(cmd!, args, {
      stdio: ['ignore', 'inherit', 'inherit'], uid: this.account.uid, gid: this.account.gid,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    });
    this.child = child;
    const startedAt = Date.now();
    child.on('error', () => undefined); // spawn failures also end in 'exit'
    this.o.log.log('info', 'metrics.started', { exporter: child.pid, listen: listenText(this.o.metrics.listen), user: this.o.metrics.user });
    child.on('exit', (code, signal) => {
      this.child = null;
      if (this.stopping) return;
      if (code === EXIT_CONFIG) {
        this.o.log.log('error', 'metrics.failed', { code, listen: listenText(this.o.metrics.listen), action: 'not_restarted' });
        return;
      }
      this.o.log.log('warn', 'metrics.exited', { exporter: child.pid, code, signal });
      const delay = this.backoff.next(startedAt);
      setTimeout(() => { if (!this.stopping) this.spawnOnce(); }, delay).unref();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child) await stopChild(this.child);
  }
}

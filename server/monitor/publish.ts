/**
 * The monitor publishes its state every second (server/state/monitor-state.ts), atomically, for
 * `tumblerd status` and the metrics exporter: this is how its counters leave the privileged
 * process. It only writes; it reads nothing from the unprivileged side. The document holds counts
 * and codes, no address, user or device, so it is world-readable (0644) like the metrics.
 */
import { isTumblerError } from '../../shared/errors.js';
import { VERSION } from '../../shared/version.js';
import type { TumblerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { PUBLISH_INTERVAL_MS, removeStateFile, writeStateFile } from '../state/file.js';
import { MONITOR_STATE_FORMAT, MONITOR_STATE_VERSION, type MonitorState } from '../state/monitor-state.js';
import type { MonitorCounters } from './counters.js';
import type { GrantBook } from './grant-book.js';

export interface MonitorPublisherOptions {
  readonly file: string;
  readonly config: TumblerConfig;
  readonly counters: MonitorCounters;
  readonly book: GrantBook;
  readonly workerPid: () => number | undefined;
  readonly log: Logger;
  readonly now?: () => number;
  readonly pid?: number;
}

/** The document as it is at `now` (expired grants are tallied first: see GrantBook.prune). */
export function monitorState(o: MonitorPublisherOptions, now: number): MonitorState {
  const { config, counters: c, book } = o;
  // Every configured service has its series from the start, at 0.
  const byService = (counts: Readonly<Record<string, number>>): Record<string, number> =>
    ({ ...Object.fromEntries(config.services.map((s) => [s.name, 0])), ...counts });
  book.prune(now);
  const workerPid = o.workerPid();
  return {
    format: MONITOR_STATE_FORMAT,
    version: MONITOR_STATE_VERSION,
    tumblerVersion: VERSION,
    pid: o.pid ?? process.pid,
    startedAtMs: c.startedAtMs,
    publishedAtMs: now,
    firewall: {
      backend: config.firewall, intact: c.firewallIntact, repairs: c.repairs, repairFailures: c.repairFailures,
      grantsRestored: c.grantsRestored, grantsClosedElsewhere: c.grantsClosedElsewhere, drift: { ...c.drift },
    },
    worker: { starts: c.workerStarts, restarts: c.workerRestarts, ...(workerPid !== undefined && { pid: workerPid }) },
    store: { backend: config.store.backend, location: config.store.backend === 'sqlite' ? config.store.path : config.store.url },
    requests: { ...c.requests },
    incidents: { ...c.incidents },
    refusals: { ...c.refusals },
    failures: { ...c.failures },
    lastIncidents: c.lastIncidents.map((i) => ({ ...i })),
    grants: {
      open: byService(book.openByService(now)), opened: byService(c.grants.opened), closed: byService(c.grants.closed), expired: byService(c.grants.expired),
    },
  };
}

export class MonitorPublisher {
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly o: MonitorPublisherOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.publish();
    this.timer = setInterval(() => this.publish(), PUBLISH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Write the document now; a failure is logged (rate-limited) and the next second tries again. */
  publish(): void {
    try {
      writeStateFile(this.o.file, JSON.stringify(monitorState(this.o, this.now())), 0o644);
    } catch (e) {
      this.o.log.limited('warn', 'state.publish_failed', { code: isTumblerError(e) ? e.code : ((e as NodeJS.ErrnoException).code ?? 'UNKNOWN') });
    }
  }

  /** Stop publishing and remove the document: a stopped daemon publishes nothing. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      removeStateFile(this.o.file);
    } catch { /* shutting down: nothing better to do */ }
  }
}

/**
 * The worker publishes its state every second (server/state/worker-state.ts) into its own
 * directory, atomically: counters, pcap's counts, the knock path's histograms, the store's health
 * and the last minute and hour. Under a packet flood the capture can starve this process's timers
 * (docs/operations.md, Metrics): the document then ages, which status and the exporter show.
 */
import { isTumblerError } from '../../shared/errors.js';
import type { StoreBackend } from '../config/types.js';
import type { Logger } from '../log.js';
import { PUBLISH_INTERVAL_MS, writeStateFile } from '../state/file.js';
import { COUNTER_NAME_RE, MAX_COUNTERS, WORKER_STATE_FORMAT, WORKER_STATE_VERSION, type WorkerState } from '../state/worker-state.js';
import type { Counters } from './counters.js';
import type { KnockService } from './knock-service.js';
import { RecentTotals, type Totals } from './recent.js';

export interface PcapCounts {
  readonly received: number;
  readonly dropped: number;
  readonly ifDropped: number;
}

export interface WorkerPublisherOptions {
  readonly file: string;
  readonly service: KnockService;
  readonly pcap: () => PcapCounts;
  readonly backend: StoreBackend;
  readonly startedAtMs: number;
  readonly log: Logger;
  readonly now?: () => number;
  readonly pid?: number;
}

/** Knocks (assembled triples), grants (first and recovery) and rejections (every reason) so far. */
export function totalsOf(c: Counters): Totals {
  let rejections = 0;
  for (const [name, n] of Object.entries(c.values)) if (name.startsWith('reject.')) rejections += n;
  return { knocks: c.get('assembled'), grants: c.get('granted') + c.get('granted_recovery'), rejections };
}

export class WorkerPublisher {
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private readonly recent: RecentTotals;
  private writing = false;

  constructor(private readonly o: WorkerPublisherOptions) {
    this.now = o.now ?? Date.now;
    this.recent = new RecentTotals(o.startedAtMs);
  }

  start(): void {
    void this.publish();
    this.timer = setInterval(() => void this.publish(), PUBLISH_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The document as of now. */
  async state(): Promise<WorkerState> {
    const o = this.o;
    const service = o.service;
    const now = this.now();
    const totals = totalsOf(service.counters);
    this.recent.record(now, totals);
    const counters: Record<string, number> = {};
    let kept = 0;
    for (const [name, n] of Object.entries(service.counters.values)) {
      if (kept < MAX_COUNTERS && COUNTER_NAME_RE.test(name)) {
        counters[name] = n;
        kept++;
      }
    }
    const { received, dropped, ifDropped } = o.pcap();
    return {
      format: WORKER_STATE_FORMAT,
      version: WORKER_STATE_VERSION,
      pid: o.pid ?? process.pid,
      startedAtMs: o.startedAtMs,
      publishedAtMs: now,
      store: { backend: o.backend, ...service.storeHealth.state },
      counters,
      pcap: { received, dropped, ifDropped },
      pending: { ...service.pending },
      histograms: service.timings.snapshot(),
      recent: { minute: this.recent.window(now, totals, 60), hour: this.recent.window(now, totals, 3600) },
    };
  }

  /** Write the document; a failure is logged (rate-limited) and the next second tries again. */
  async publish(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      writeStateFile(this.o.file, JSON.stringify(await this.state()), 0o644);
    } catch (e) {
      this.o.log.limited('warn', 'state.publish_failed', { code: isTumblerError(e) ? e.code : ((e as NodeJS.ErrnoException).code ?? 'UNKNOWN') });
    } finally {
      this.writing = false;
    }
  }
}

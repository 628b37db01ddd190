/**
 * Store failures on the knock path (PostgreSQL down or failing over, a corrupt SQLite file): every
 * one is counted and fails closed; the log gets one line when it starts failing, then at most one
 * per interval with the number of failures since, and one line when it answers again.
 */
import { isTumblerError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import type { Counters } from './counters.js';

export const STORE_LOG_INTERVAL_MS = 10_000;

export class StoreHealth {
  private failing = false;
  private lastLogAt = -Infinity;
  private since = 0;
  private failingSinceMs: number | null = null;
  private lastCode: string | null = null;

  constructor(
    private readonly log: Logger,
    private readonly counters: Counters,
    private readonly now: () => number,
    private readonly intervalMs = STORE_LOG_INTERVAL_MS,
  ) {}

  /** For the published state: healthy, or failing since when and with which code. */
  get state(): { healthy: boolean; failingSinceMs?: number; lastFailure?: string } {
    if (!this.failing) return { healthy: true, ...(this.lastCode !== null && { lastFailure: this.lastCode }) };
    return { healthy: false, failingSinceMs: this.failingSinceMs!, lastFailure: this.lastCode! };
  }

  failed(e: unknown, during: string): void {
    const code = isTumblerError(e) ? e.code : 'STORE_ERROR';
    this.counters.count(`store_failed.${code}`);
    this.since++;
    const t = this.now();
    this.lastCode = code;
    if (!this.failing) this.failingSinceMs = t;
    if (!this.failing || t - this.lastLogAt >= this.intervalMs) {
      this.log.log('error', 'store.unavailable', { code, during, failures: this.since });
      this.lastLogAt = t;
      this.since = 0;
    }
    this.failing = true;
  }

  succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    this.failingSinceMs = null;
    this.log.log('info', 'store.recovered', { failures: this.since });
    this.since = 0;
  }
}

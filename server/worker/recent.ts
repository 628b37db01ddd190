/**
 * Knocks, grants and rejections of the last minute and the last hour, for `tumblerd status`: the
 * worker samples its running totals (every publish) and keeps them thinned out, one a second for
 * the last two minutes and one a minute before that, so at most ~180 samples cover the hour. A
 * window reports what it really covers (`seconds`): up to a minute less than the hour asked, and
 * less while the worker is younger.
 */
import type { RecentWindow } from '../state/worker-state.js';

export interface Totals {
  readonly knocks: number;
  readonly grants: number;
  readonly rejections: number;
}

interface Sample {
  readonly atMs: number;
  readonly totals: Totals;
}

const FINE_MS = 120_000;
const HOUR_MS = 3_600_000;

export class RecentTotals {
  private samples: Sample[];

  /** `startedAtMs`: when the counters were zero (the worker's start). */
  constructor(startedAtMs: number) {
    this.samples = [{ atMs: startedAtMs, totals: { knocks: 0, grants: 0, rejections: 0 } }];
  }

  /** Keep `totals` as of `atMs` (at most one sample a second). */
  record(atMs: number, totals: Totals): void {
    const last = this.samples[this.samples.length - 1]!;
    if (atMs - last.atMs >= 1_000) this.samples.push({ atMs, totals });
    this.thin(atMs);
  }

  /**
   * The counts from the oldest sample at most `seconds` old (the start, when the worker is younger)
   * to `totals` now; `seconds` in the result is the span really covered.
   */
  window(atMs: number, totals: Totals, seconds: number): RecentWindow {
    const from = atMs - seconds * 1000;
    const base = this.samples.find((s) => s.atMs >= from) ?? this.samples[this.samples.length - 1]!;
    return {
      knocks: Math.max(0, totals.knocks - base.totals.knocks),
      grants: Math.max(0, totals.grants - base.totals.grants),
      rejections: Math.max(0, totals.rejections - base.totals.rejections),
      seconds: Math.max(0, Math.round((atMs - base.atMs) / 1000)),
    };
  }

  get size(): number {
    return this.samples.length;
  }

  /** Nothing older than an hour; one sample a minute before the last two minutes. */
  private thin(now: number): void {
    while (this.samples.length >= 2 && this.samples[0]!.atMs < now - HOUR_MS) this.samples.shift();
    const kept: Sample[] = [];
    for (const s of this.samples) {
      const prev = kept[kept.length - 1];
      if (prev && s.atMs < now - FINE_MS && s.atMs - prev.atMs < 60_000) continue;
      kept.push(s);
    }
    this.samples = kept;
  }
}

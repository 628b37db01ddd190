/**
 * The knock path's timings, as histograms with the bucket bounds named in
 * server/state/worker-state.ts: knock → grant (first knock packet captured → grant in the firewall
 * and committed) and each store call (lookup, accept). Observed by the worker on its own clock;
 * published as cumulative bucket counts (snapshot) for the exporter, which serves them. Plain
 * counts, as prom-client counts them (an observation goes in the first bucket with value <= bound):
 * the worker does not load a metrics library for this.
 */
import { HISTOGRAM_BUCKETS, HISTOGRAM_NAMES, type HistogramName, type HistogramSnapshot } from '../state/worker-state.js';

interface Counts {
  /** Observations per bucket, not cumulative; the last is +Inf. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

export class KnockTimings {
  private readonly histograms = Object.fromEntries(HISTOGRAM_NAMES.map((name) => [name, {
    buckets: new Array<number>(HISTOGRAM_BUCKETS[name].length + 1).fill(0), sum: 0, count: 0,
  }])) as Record<HistogramName, Counts>;

  /** One observation, in seconds (negative clock steps count as 0; NaN and Infinity throw, as prom-client did). */
  observe(name: HistogramName, seconds: number): void {
    const v = Math.max(0, seconds);
    if (!Number.isFinite(v)) throw new TypeError(`Value is not a valid number: ${v}`);
    const h = this.histograms[name];
    const bounds: readonly number[] = HISTOGRAM_BUCKETS[name];
    let i = 0;
    while (i < bounds.length && !(v <= bounds[i]!)) i++;
    h.buckets[i]!++;
    h.sum += v;
    h.count++;
  }

  /** Cumulative counts per bucket (+Inf last), the sum and the count of every histogram. */
  snapshot(): Record<HistogramName, HistogramSnapshot> {
    const out = {} as Record<HistogramName, HistogramSnapshot>;
    for (const name of HISTOGRAM_NAMES) {
      const h = this.histograms[name];
      let acc = 0;
      out[name] = { counts: h.buckets.map((n) => (acc += n)), sum: h.sum, count: h.count };
    }
    return out;
  }
}

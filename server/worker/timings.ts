/**
 * The knock path's timings, as prom-client histograms with the bucket bounds named in
 * server/state/worker-state.ts: knock → grant (first knock packet captured → grant in the firewall
 * and committed) and each store call (lookup, accept). Observed by the worker on its own clock;
 * published as cumulative bucket counts (snapshot) for the exporter, which serves them.
 */
import client from 'prom-client';
import { HISTOGRAM_BUCKETS, HISTOGRAM_NAMES, type HistogramName, type HistogramSnapshot } from '../state/worker-state.js';

export class KnockTimings {
  private readonly registry = new client.Registry();
  private readonly histograms: Record<HistogramName, client.Histogram>;

  constructor() {
    this.histograms = Object.fromEntries(HISTOGRAM_NAMES.map((name) => [name, new client.Histogram({
      name: `tumbler_worker_${name}_seconds`, help: name, buckets: [...HISTOGRAM_BUCKETS[name]], registers: [this.registry],
    })])) as Record<HistogramName, client.Histogram>;
  }

  /** One observation, in seconds (negative clock steps count as 0). */
  observe(name: HistogramName, seconds: number): void {
    this.histograms[name].observe(Math.max(0, seconds));
  }

  /** Cumulative counts per bucket (+Inf last), the sum and the count of every histogram. */
  async snapshot(): Promise<Record<HistogramName, HistogramSnapshot>> {
    const out = {} as Record<HistogramName, HistogramSnapshot>;
    for (const name of HISTOGRAM_NAMES) {
      const { values } = await this.histograms[name].get();
      const bucket = (le: number | string): number => values.find((v) => v.metricName?.endsWith('_bucket') && v.labels.le === le)?.value ?? 0;
      const one = (suffix: string): number => values.find((v) => v.metricName?.endsWith(suffix))?.value ?? 0;
      out[name] = { counts: [...HISTOGRAM_BUCKETS[name].map((le) => bucket(le)), bucket('+Inf')], sum: one('_sum'), count: one('_count') };
    }
    return out;
  }
}

/**
 * One scrape: the monitor's and the worker's published states (already shape-checked) turned into
 * a prom-client registry, following the catalog (./catalog.ts). prom-client formats the
 * exposition; histograms, counted per bucket in the worker (server/worker/timings.ts, prom-client's
 * `value <= bound` rule, without loading prom-client there) and published as bucket counts,
 * come back through its JSON form (AggregatorRegistry.aggregate). A histogram whose buckets are not
 * the catalog's, or not cumulative, is left out: the worker's document is untrusted input.
 */
import client from 'prom-client';
import { STALE_MS } from '../state/file.js';
import type { MonitorState } from '../state/monitor-state.js';
import { HISTOGRAM_BUCKETS, type HistogramName, type HistogramSnapshot, type WorkerState } from '../state/worker-state.js';
import { METRICS, workerCounterSample, type MetricDef, type MetricKey } from './catalog.js';

export interface ScrapeInput {
  readonly monitor: MonitorState | null;
  readonly worker: WorkerState | null;
  readonly nowMs: number;
  /** The exporter's own count of unusable documents, by document then code. */
  readonly readErrors?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

type Labels = Record<string, string>;
interface Sample {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
}
/** prom-client's JSON form of one histogram (what getMetricsAsJSON gives and aggregate takes). */
interface HistogramJson {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly Sample[];
}

class Families {
  readonly registry = new client.Registry();
  private readonly made = new Map<MetricKey, client.Counter | client.Gauge>();

  private family(key: MetricKey): client.Counter | client.Gauge {
    let m = this.made.get(key);
    if (!m) {
      const d: MetricDef = METRICS[key];
      const o = { name: d.name, help: d.help, labelNames: [...d.labels], registers: [this.registry] };
      m = d.kind === 'counter' ? new client.Counter(o) : new client.Gauge(o);
      this.made.set(key, m);
    }
    return m;
  }

  /** A counter's value (adds up when several sources name the same series), or a gauge's. */
  put(key: MetricKey, value: number, labels: Labels = {}): void {
    const m = this.family(key);
    if (m instanceof client.Counter) m.inc(labels, value);
    else m.set(labels, value);
  }

  /** One series per entry of a by-label record. */
  each(key: MetricKey, label: string, byLabel: Readonly<Record<string, number>>): void {
    for (const [v, n] of Object.entries(byLabel)) this.put(key, n, { [label]: v });
  }
}

export function buildRegistry(s: ScrapeInput): client.Registry {
  const f = new Families();
  const age = (publishedAtMs: number): number => Math.max(0, (s.nowMs - publishedAtMs) / 1000);
  const m = s.monitor;
  const monitorFresh = m !== null && s.nowMs - m.publishedAtMs <= STALE_MS;
  f.put('up', monitorFresh ? 1 : 0);
  for (const [document, byCode] of Object.entries(s.readErrors ?? {})) for (const [code, n] of Object.entries(byCode)) f.put('stateErrors', n, { document, code });
  if (m) addMonitor(f, m, age(m.publishedAtMs));
  const w = s.worker;
  const workerFresh = w !== null && monitorFresh && m.worker.pid === w.pid && s.nowMs - w.publishedAtMs <= STALE_MS;
  f.put('workerUp', workerFresh ? 1 : 0);
  const histograms: HistogramJson[] = [];
  if (w) {
    addWorker(f, w, age(w.publishedAtMs));
    histograms.push(...histogramObjects(w));
  }
  return histograms.length ? client.Registry.merge([f.registry, client.AggregatorRegistry.aggregate([histograms])]) : f.registry;
}

function addMonitor(f: Families, m: MonitorState, ageSec: number): void {
  f.put('info', 1, { version: m.tumblerVersion, firewall: m.firewall.backend, store: m.store.backend });
  f.put('monitorStart', m.startedAtMs / 1000);
  f.put('monitorAge', ageSec);
  f.each('requests', 'op', m.requests);
  f.each('incidents', 'code', m.incidents);
  f.each('refusals', 'code', m.refusals);
  f.each('firewallFailures', 'code', m.failures);
  f.put('firewallIntact', m.firewall.intact ? 1 : 0);
  f.each('drift', 'kind', m.firewall.drift);
  f.put('repairs', m.firewall.repairs);
  f.put('repairFailures', m.firewall.repairFailures);
  f.put('grantsRestored', m.firewall.grantsRestored);
  f.put('closedElsewhere', m.firewall.grantsClosedElsewhere);
  f.put('workerStarts', m.worker.starts);
  f.put('workerRestarts', m.worker.restarts);
  f.each('grantsOpen', 'service', m.grants.open);
  f.each('grantsOpened', 'service', m.grants.opened);
  f.each('grantsClosed', 'service', m.grants.closed);
  f.each('grantsExpired', 'service', m.grants.expired);
}

function addWorker(f: Families, w: WorkerState, ageSec: number): void {
  f.put('workerStart', w.startedAtMs / 1000);
  f.put('workerAge', ageSec);
  // Series the alert rules use exist from the start, at 0 (rate() needs a first sample).
  f.put('assembled', 0);
  f.put('granted', 0, { mode: 'first' });
  for (const [name, n] of Object.entries(w.counters)) {
    const sample = workerCounterSample(name);
    if (sample) f.put(sample.key, n, sample.labels);
  }
  f.put('pcapReceived', w.pcap.received);
  f.put('pcapDropped', w.pcap.dropped);
  f.put('pcapIfDropped', w.pcap.ifDropped);
  f.put('pendingSources', w.pending.sources);
  f.put('pendingPackets', w.pending.packets);
  f.put('inFlight', w.pending.inFlight);
  f.put('storeUp', w.store.healthy ? 1 : 0);
}

/** The worker's histograms in prom-client's JSON form, those that have the catalog's buckets. */
function histogramObjects(w: WorkerState): HistogramJson[] {
  const series = (name: HistogramName, labels: Labels): Sample[] | null => {
    const h: HistogramSnapshot = w.histograms[name];
    const bounds = HISTOGRAM_BUCKETS[name];
    const cumulative = h.counts.every((c, i) => i === 0 || c >= h.counts[i - 1]!);
    if (h.counts.length !== bounds.length + 1 || !cumulative || h.counts[h.counts.length - 1] !== h.count) return null;
    const metric = name === 'knock_to_grant' ? METRICS.knockToGrant.name : METRICS.storeLatency.name;
    return [
      ...h.counts.map((value, i) => ({ metricName: `${metric}_bucket`, labels: { ...labels, le: bounds[i] ?? '+Inf' }, value })),
      { metricName: `${metric}_sum`, labels, value: h.sum },
      { metricName: `${metric}_count`, labels, value: h.count },
    ];
  };
  const object = (d: MetricDef, values: (Sample[] | null)[]): HistogramJson =>
    ({ name: d.name, help: d.help, type: 'histogram', aggregator: 'sum', values: values.flatMap((v) => v ?? []) });
  return [
    object(METRICS.knockToGrant, [series('knock_to_grant', {})]),
    object(METRICS.storeLatency, [series('store_lookup', { op: 'lookup' }), series('store_accept', { op: 'accept' })]),
  ].filter((o) => o.values.length > 0);
}

/** Published-state documents for the metrics tests, and a reader of the Prometheus text they become. */
import { HISTOGRAM_BUCKETS, WORKER_STATE_FORMAT, WORKER_STATE_VERSION, type WorkerState } from '../../../../server/state/worker-state.js';
import { MONITOR_STATE_FORMAT, MONITOR_STATE_VERSION, type MonitorState } from '../../../../server/state/monitor-state.js';

export const T0 = 1_800_000_000_000;

export function monitorDoc(o: Partial<MonitorState> = {}): MonitorState {
  return {
    format: MONITOR_STATE_FORMAT, version: MONITOR_STATE_VERSION, tumblerVersion: '0.1.0', pid: 100, startedAtMs: T0 - 60_000, publishedAtMs: T0,
    firewall: { backend: 'nftables', intact: true, repairs: 1, repairFailures: 0, grantsRestored: 2, grantsClosedElsewhere: 0, drift: { table: 1 } },
    worker: { starts: 2, restarts: 1, pid: 200 },
    store: { backend: 'sqlite', location: '/var/lib/tumbler/tumbler.db' },
    requests: { hello: 2, reconcile: 2, open: 5 }, incidents: { IPC_BAD_SHAPE: 1 }, refusals: { MONITOR_DUPLICATE: 1 }, failures: {},
    lastIncidents: [{ atMs: T0 - 30_000, code: 'IPC_BAD_SHAPE' }],
    grants: { open: { ssh: 1, web: 0 }, opened: { ssh: 4, web: 1 }, closed: { ssh: 1, web: 0 }, expired: { ssh: 2, web: 1 } },
    ...o,
  };
}

const noHistogram = (n: keyof typeof HISTOGRAM_BUCKETS) => ({ counts: new Array<number>(HISTOGRAM_BUCKETS[n].length + 1).fill(0), sum: 0, count: 0 });

export function workerDoc(o: Partial<WorkerState> = {}): WorkerState {
  return {
    format: WORKER_STATE_FORMAT, version: WORKER_STATE_VERSION, pid: 200, startedAtMs: T0 - 30_000, publishedAtMs: T0,
    store: { backend: 'sqlite', healthy: true },
    counters: { frames: 12, filtered: 3, not_knock: 1, assembled: 3, granted: 1, 'reject.REPLAY': 1, 'grant_failed.FIREWALL_TIMEOUT.ssh': 1, 'probe.answered': 1, 'store_failed.STORE_UNAVAILABLE': 2 },
    pcap: { received: 12, dropped: 0, ifDropped: 0 },
    pending: { sources: 1, packets: 2, inFlight: 0 },
    histograms: {
      knock_to_grant: { counts: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], sum: 0.007, count: 1 },
      store_lookup: noHistogram('store_lookup'),
      store_accept: noHistogram('store_accept'),
    },
    recent: { minute: { knocks: 3, grants: 1, rejections: 1, seconds: 30 }, hour: { knocks: 3, grants: 1, rejections: 1, seconds: 30 } },
    ...o,
  };
}

/** Prometheus text → { 'name{a="x"}': value }, label sets sorted by name; HELP/TYPE lines → types. */
export function parseExposition(text: string): { series: Map<string, number>; types: Map<string, string> } {
  const series = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels = m[2] ? [...m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort() : [];
    series.set(labels.length ? `${m[1]}{${labels.join(',')}}` : m[1]!, Number(m[3]));
  }
  return { series, types };
}

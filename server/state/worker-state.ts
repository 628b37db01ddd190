/**
 * The worker's published state (`worker/worker.json`, written by server/worker/publish.ts every
 * second from the unprivileged worker): its counters (server/worker/counters.ts), pcap's counts,
 * the knock path's timings as histograms, the store's health and the knocks of the last minute and
 * hour. Root's `tumblerd status` and the exporter read it as UNTRUSTED input: the exact shape
 * below (names by pattern, counts bounded), then escaped on a terminal.
 */
import { arrayOf, bool, finite, int, object, oneOf, recordOf, text, type ShapeOf } from '../../shared/shape.js';
import { CODE_RE } from './monitor-state.js';

export const WORKER_STATE_FORMAT = 'tumblerd-worker';
export const WORKER_STATE_VERSION = 1;

/**
 * Histogram bucket bounds (seconds), named once: the worker observes with them and the exporter
 * checks a published histogram against them. knock_to_grant: first knock packet captured → grant
 * in the firewall and committed; store_*: one store call on the knock path.
 */
export const HISTOGRAM_BUCKETS = {
  knock_to_grant: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  store_lookup: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2],
  store_accept: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
} as const satisfies Record<string, readonly number[]>;
export type HistogramName = keyof typeof HISTOGRAM_BUCKETS;
export const HISTOGRAM_NAMES = Object.keys(HISTOGRAM_BUCKETS) as HistogramName[];

/** A worker counter's name: `frames`, `reject.REPLAY`, `grant_failed.STORE_CONFLICT.ssh`. */
export const COUNTER_NAME_RE = /^[a-z][a-z_]{0,31}(\.[A-Za-z0-9][A-Za-z0-9_-]{0,47}){0,2}$/;
export const MAX_COUNTERS = 512;

const count = int(0, Number.MAX_SAFE_INTEGER);
const timeMs = int(0, Number.MAX_SAFE_INTEGER);

/** Cumulative counts per bucket (the last is +Inf, so it equals `count`), their sum in seconds. */
const histogram = object({ counts: arrayOf(count, 1, 64), sum: finite(0, Number.MAX_SAFE_INTEGER), count });
const window = object({ knocks: count, grants: count, rejections: count, seconds: int(0, 86_400) });

export const workerStateShape = object({
  format: oneOf([WORKER_STATE_FORMAT]),
  version: oneOf([WORKER_STATE_VERSION]),
  pid: int(1, 2 ** 31 - 1),
  startedAtMs: timeMs,
  publishedAtMs: timeMs,
  store: object({ backend: oneOf(['sqlite', 'postgres']), healthy: bool }, { failingSinceMs: timeMs, lastFailure: text({ re: CODE_RE, what: 'an error code' }) }),
  counters: recordOf(COUNTER_NAME_RE, count, 0, MAX_COUNTERS),
  pcap: object({ received: count, dropped: count, ifDropped: count }),
  pending: object({ sources: count, packets: count, inFlight: count }),
  histograms: object(Object.fromEntries(HISTOGRAM_NAMES.map((n) => [n, histogram])) as Record<HistogramName, typeof histogram>),
  recent: object({ minute: window, hour: window }),
});

export type WorkerState = ShapeOf<typeof workerStateShape>;
export type HistogramSnapshot = WorkerState['histograms'][HistogramName];
export type RecentWindow = WorkerState['recent']['minute'];

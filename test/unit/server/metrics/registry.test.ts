/** One scrape: published states → prom-client exposition, following the catalog; untrusted histograms checked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METRIC_NAMES, METRICS, workerCounterSample } from '../../../../server/metrics/catalog.js';
import { buildRegistry } from '../../../../server/metrics/registry.js';
import { monitorDoc, parseExposition, T0, workerDoc } from './fixtures.js';

const scrape = async (o: Parameters<typeof buildRegistry>[0]) => parseExposition(await buildRegistry(o).metrics());

test('every counter and gauge of both documents, labelled by code, reason, service, op or kind only', async () => {
  const { series, types } = await scrape({ monitor: monitorDoc(), worker: workerDoc(), nowMs: T0 + 1500 });
  const want: Record<string, number> = {
    tumbler_up: 1, tumbler_worker_up: 1, tumbler_worker_state_age_seconds: 1.5, tumbler_monitor_start_time_seconds: (T0 - 60_000) / 1000,
    'tumbler_info{firewall="nftables",store="sqlite",version="0.1.0"}': 1,
    tumbler_frames_total: 12, tumbler_frames_filtered_total: 3, 'tumbler_frames_ignored_total{reason="not_knock"}': 1, tumbler_knocks_assembled_total: 3,
    'tumbler_knocks_granted_total{mode="first"}': 1, 'tumbler_knocks_rejected_total{reason="REPLAY"}': 1,
    'tumbler_grants_failed_total{code="FIREWALL_TIMEOUT",service="ssh"}': 1, tumbler_probes_answered_total: 1,
    'tumbler_store_errors_total{code="STORE_UNAVAILABLE"}': 2, tumbler_store_up: 1, tumbler_pcap_received_total: 12, tumbler_pcap_dropped_total: 0,
    tumbler_pending_packets: 2, 'tumbler_monitor_requests_total{op="open"}': 5, 'tumbler_monitor_incidents_total{code="IPC_BAD_SHAPE"}': 1,
    'tumbler_monitor_refusals_total{code="MONITOR_DUPLICATE"}': 1, tumbler_firewall_intact: 1, 'tumbler_firewall_drift_total{kind="table"}': 1,
    tumbler_worker_restarts_total: 1, 'tumbler_grants_open{service="ssh"}': 1, 'tumbler_grants_open{service="web"}': 0,
    'tumbler_grants_opened_total{service="ssh"}': 4, 'tumbler_grants_expired_total{service="web"}': 1,
    'tumbler_knock_to_grant_seconds_bucket{le="0.005"}': 0, 'tumbler_knock_to_grant_seconds_bucket{le="0.01"}': 1, 'tumbler_knock_to_grant_seconds_bucket{le="+Inf"}': 1,
    tumbler_knock_to_grant_seconds_sum: 0.007, tumbler_knock_to_grant_seconds_count: 1,
    'tumbler_store_latency_seconds_count{op="lookup"}': 0, 'tumbler_store_latency_seconds_count{op="accept"}': 0,
  };
  for (const [k, v] of Object.entries(want)) assert.equal(series.get(k), v, k);
  assert.equal(types.get('tumbler_knock_to_grant_seconds'), 'histogram');
  assert.equal(types.get('tumbler_frames_total'), 'counter');
  assert.equal(types.get('tumbler_grants_open'), 'gauge');
  // Nothing outside the catalog, and no label that could carry a user, device or address.
  for (const name of types.keys()) assert.ok(METRIC_NAMES.includes(name), name);
  const labels = new Set([...series.keys()].flatMap((k) => [...k.matchAll(/([a-z_]+)="/g)].map((m) => m[1]!)));
  assert.deepEqual([...labels].sort(), ['code', 'firewall', 'kind', 'le', 'mode', 'op', 'reason', 'service', 'store', 'version']);
});

test('down: no documents, a stale monitor, a worker that is not the monitor\'s current one, or a stale worker', async () => {
  const none = await scrape({ monitor: null, worker: null, nowMs: T0 });
  assert.equal(none.series.get('tumbler_up'), 0);
  assert.equal(none.series.get('tumbler_worker_up'), 0);
  assert.equal((await scrape({ monitor: monitorDoc(), worker: workerDoc(), nowMs: T0 + 6_000 })).series.get('tumbler_up'), 0);
  assert.equal((await scrape({ monitor: monitorDoc(), worker: workerDoc({ pid: 999 }), nowMs: T0 })).series.get('tumbler_worker_up'), 0);
  const stale = await scrape({ monitor: monitorDoc({ publishedAtMs: T0 + 10_000 }), worker: workerDoc(), nowMs: T0 + 10_000 });
  assert.equal(stale.series.get('tumbler_up'), 1);
  assert.equal(stale.series.get('tumbler_worker_up'), 0);
  assert.equal(stale.series.get('tumbler_worker_state_age_seconds'), 10);
});

test('a published histogram that is not cumulative, has other buckets or a count that disagrees is left out', async () => {
  const bad = (h: { counts: number[]; sum: number; count: number }) => scrape({ monitor: monitorDoc(), worker: workerDoc({ histograms: { ...workerDoc().histograms, knock_to_grant: h } }), nowMs: T0 });
  for (const h of [
    { counts: [0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1], sum: 1, count: 1 },
    { counts: [0, 1, 1], sum: 1, count: 1 },
    { counts: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], sum: 1, count: 5 },
  ]) {
    const { series } = await bad(h);
    assert.equal(series.get('tumbler_knock_to_grant_seconds_count'), undefined);
    assert.equal(series.get('tumbler_store_latency_seconds_count{op="lookup"}'), 0, 'the others stay');
  }
});

test('worker counters map to the catalog by name; unknown or malformed names are dropped', () => {
  assert.deepEqual(workerCounterSample('reject.KNOCK_MAC'), { key: 'rejected', labels: { reason: 'KNOCK_MAC' } });
  assert.deepEqual(workerCounterSample('granted_recovery'), { key: 'granted', labels: { mode: 'recovery' } });
  assert.deepEqual(workerCounterSample('grant_failed.STORE_CONFLICT.web-admin'), { key: 'grantsFailed', labels: { code: 'STORE_CONFLICT', service: 'web-admin' } });
  for (const n of ['reject.lower', 'reject.A.B', 'grant_failed.X', 'grant_failed.X.Bad', 'probe.other', 'toString', '__proto__', 'constructor', 'nope']) {
    assert.equal(workerCounterSample(n), null, n);
  }
  assert.equal(Object.keys(METRICS).length, METRIC_NAMES.length);
  assert.equal(new Set(METRIC_NAMES).size, METRIC_NAMES.length);
});

test('the exporter\'s read errors are series of their own', async () => {
  const { series } = await scrape({ monitor: monitorDoc(), worker: null, nowMs: T0, readErrors: { worker: { STATE_UNSAFE: 2 } } });
  assert.equal(series.get('tumbler_state_read_errors_total{code="STATE_UNSAFE",document="worker"}'), 2);
});

/** KnockTimings: plain bucket counts that publish what a prom-client histogram with the same bounds would. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import client from 'prom-client';
import { HISTOGRAM_BUCKETS } from '../../../../server/state/worker-state.js';
import { KnockTimings } from '../../../../server/worker/timings.js';

test('a value on a bound counts in that bucket, past the last only in +Inf; a negative one as 0', () => {
  const t = new KnockTimings();
  const bounds = HISTOGRAM_BUCKETS.store_lookup;
  const values = [bounds[0], bounds[1] + 1e-9, bounds[bounds.length - 1]! + 1, -3];
  for (const v of values) t.observe('store_lookup', v);
  const s = t.snapshot();
  assert.deepEqual(s.store_lookup.counts, [2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4]);
  assert.equal(s.store_lookup.count, 4);
  assert.equal(s.store_lookup.sum, values.reduce((a, v) => a + Math.max(0, v), 0));
  assert.deepEqual(s.knock_to_grant, { counts: new Array(HISTOGRAM_BUCKETS.knock_to_grant.length + 1).fill(0), sum: 0, count: 0 });
  assert.throws(() => t.observe('store_accept', Number.NaN), TypeError);
});

test('the same snapshot as a prom-client histogram with the same bounds', async () => {
  const t = new KnockTimings();
  const bounds = HISTOGRAM_BUCKETS.knock_to_grant;
  const h = new client.Histogram({ name: 'x_seconds', help: 'x', buckets: [...bounds], registers: [] });
  const values = [...bounds, 0, 1e-6, 7, 0.3, ...Array.from({ length: 200 }, (_, i) => (i * 0.037) % 6)];
  for (const v of values) {
    t.observe('knock_to_grant', v);
    h.observe(v);
  }
  const { values: samples } = await h.get();
  const bucket = (le: number | string): number => samples.find((v) => v.metricName?.endsWith('_bucket') && v.labels.le === le)!.value;
  const one = (suffix: string): number => samples.find((v) => v.metricName?.endsWith(suffix))!.value;
  assert.deepEqual(t.snapshot().knock_to_grant, { counts: [...bounds.map((le) => bucket(le)), bucket('+Inf')], sum: one('_sum'), count: one('_count') });
});

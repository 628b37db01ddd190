/** The last minute and hour of knocks, grants and rejections, from thinned samples of running totals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentTotals, type Totals } from '../../../../server/worker/recent.js';

const T0 = 1_800_000_000_000;
/** A knock, a grant and two rejections every second. */
const at = (sec: number): Totals => ({ knocks: sec, grants: sec, rejections: 2 * sec });

test('a young worker reports since its start, with the seconds it really covers', () => {
  const r = new RecentTotals(T0);
  for (let s = 1; s <= 30; s++) r.record(T0 + s * 1000, at(s));
  assert.deepEqual(r.window(T0 + 30_000, at(30), 60), { knocks: 30, grants: 30, rejections: 60, seconds: 30 });
  assert.deepEqual(r.window(T0 + 30_000, at(30), 3600), { knocks: 30, grants: 30, rejections: 60, seconds: 30 });
});

test('after two hours: the last minute exactly, the last hour to within a minute, and at most ~180 samples', () => {
  const r = new RecentTotals(T0);
  const end = 2 * 3600;
  for (let s = 1; s <= end; s++) r.record(T0 + s * 1000, at(s));
  const now = T0 + end * 1000;
  assert.deepEqual(r.window(now, at(end), 60), { knocks: 60, grants: 60, rejections: 120, seconds: 60 });
  const hour = r.window(now, at(end), 3600);
  assert.ok(hour.seconds <= 3600 && hour.seconds > 3540, String(hour.seconds));
  assert.equal(hour.knocks, hour.seconds);
  assert.ok(r.size <= 185, String(r.size));
});

test('samples closer than a second are not kept; counts never go negative (a restarted counter)', () => {
  const r = new RecentTotals(T0);
  r.record(T0 + 1000, at(5));
  r.record(T0 + 1500, at(6));
  assert.equal(r.size, 2);
  assert.deepEqual(r.window(T0 + 2000, { knocks: 0, grants: 0, rejections: 0 }, 60), { knocks: 0, grants: 0, rejections: 0, seconds: 2 });
});

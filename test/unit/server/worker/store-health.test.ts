/**
 * StoreHealth: a store that keeps failing (PostgreSQL down, a broken SQLite file) is one log line
 * when it starts, then at most one per interval carrying the count, and one line when it answers
 * again — never one per packet. Every failure is counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TumblerError } from '../../../../shared/errors.js';
import { createLogger } from '../../../../server/log.js';
import { Counters } from '../../../../server/worker/counters.js';
import { StoreHealth } from '../../../../server/worker/store-health.js';

test('10,000 failures over 25 s: three lines with their counts, then one when it recovers', () => {
  let now = 0;
  const events: Array<{ event: string; failures?: number }> = [];
  const log = createLogger({ format: 'json', component: 't', perSec: 1000, write: (l) => events.push(JSON.parse(l) as { event: string; failures?: number }), now: () => now });
  const counters = new Counters();
  const h = new StoreHealth(log, counters, () => now, 10_000);
  const down = new TumblerError('STORE_UNAVAILABLE', 'PostgreSQL: connect ECONNREFUSED');
  for (let i = 0; i < 10_000; i++) {
    now = Math.floor(i * 2.5);
    h.failed(down, 'lookup');
  }
  assert.equal(counters.get('store_failed.STORE_UNAVAILABLE'), 10_000);
  assert.deepEqual(events.map((e) => e.event), ['store.unavailable', 'store.unavailable', 'store.unavailable']);
  assert.deepEqual(events.map((e) => e.failures), [1, 4000, 4000]);
  assert.equal(h.state.healthy, false);
  h.succeeded();
  h.succeeded();
  assert.deepEqual(events.slice(3).map((e) => e.event), ['store.recovered']);
  assert.equal(h.state.healthy, true);
});

/** ProbeGuard: the in-memory rules that keep a probe (which binds no address) from being answered to copies. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeGuard } from '../../../../server/worker/probe.js';

const guard = (): ProbeGuard => new ProbeGuard({ graceMs: 30_000, perSecond: 3, maxEntries: 4 });

test('first probe admitted; its identical copy only from the same source within grace', () => {
  const g = guard();
  assert.equal(g.admit('s', 100, 'i1', 'A', 0), null);
  assert.equal(g.admit('s', 100, 'i1', 'B', 10), 'PROBE_REPLAY');
  assert.equal(g.admit('s', 100, 'i1', 'A', 20), null);
  assert.equal(g.admit('s', 100, 'i1', 'A', 30_021), 'PROBE_REPLAY');
});

test('a different probe needs a strictly newer timestamp', () => {
  const g = guard();
  assert.equal(g.admit('s', 100, 'i1', 'A', 0), null);
  assert.equal(g.admit('s', 100, 'i2', 'A', 1), 'PROBE_REPLAY');
  assert.equal(g.admit('s', 99, 'i3', 'B', 2), 'PROBE_REPLAY');
  assert.equal(g.admit('s', 101, 'i4', 'B', 3), null);
  // Sequences are independent.
  assert.equal(g.admit('t', 50, 'i5', 'C', 4), null);
});

test('rate: at most perSecond answers per sequence per second; a refused one is still remembered', () => {
  const g = guard();
  assert.equal(g.admit('s', 1, 'a', 'A', 0), null);
  assert.equal(g.admit('s', 2, 'b', 'A', 1), null);
  assert.equal(g.admit('s', 3, 'c', 'A', 2), null);
  assert.equal(g.admit('s', 4, 'd', 'A', 3), 'PROBE_RATE');
  // The rate-limited probe was recorded: its copy from elsewhere is a replay, not "new".
  assert.equal(g.admit('s', 4, 'd', 'B', 1500), 'PROBE_REPLAY');
  assert.equal(g.admit('s', 5, 'e', 'A', 1500), null);
});

test('bounded memory: the oldest sequence is forgotten first', () => {
  const g = guard();
  for (const k of ['a', 'b', 'c', 'd', 'e']) assert.equal(g.admit(k, 1, 'x', 'A', 0), null);
  assert.equal(g.size, 4);
});

/** KnockClock's per-kind floors and clockVerdict: strictly newer seconds, without letting a stale offset push knocks out of the window. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KnockClock, clockVerdict, fitsWindow } from '../../../../client/knock/clock.js';

const T0 = 1_800_000_000_000;
const S0 = T0 / 1000;

test('each kind goes strictly up on a frozen clock; knocks and probes have their own floors', () => {
  const c = new KnockClock(() => T0, 0);
  assert.deepEqual([c.next('knock'), c.next('knock'), c.next('probe'), c.next('knock'), c.next('probe')], [S0, S0 + 1, S0, S0 + 2, S0 + 1]);
  assert.deepEqual([c.floor('knock'), c.floor('probe')], [S0 + 2, S0 + 1]);
});

test('floors kept from an earlier run are respected', () => {
  const c = new KnockClock(() => T0, 0, { knock: S0 + 5, probe: S0 + 9 });
  assert.equal(c.next('knock'), S0 + 6);
  assert.equal(c.next('probe'), S0 + 10);
});

test('once the server\'s clock and window are known, seconds it cannot have accepted no longer raise the floor', () => {
  let now = T0;
  const c = new KnockClock(() => now, 300_000, { knock: S0 + 400 }); // a stale offset: five minutes too far ahead
  assert.equal(c.next('knock'), S0 + 401);
  now += 500;
  c.calibrate(0, 30); // a probe's answer showed the local clock is right
  c.offsetMs = 0;
  assert.equal(c.floor('knock'), -1);
  assert.equal(c.next('knock'), S0);
  // A probe sent with the stale offset stays in its floor: within the probe window, the server may have recorded it.
  const p = new KnockClock(() => now, 300_000);
  const first = p.next('probe');
  p.calibrate(0, 30);
  p.offsetMs = 0;
  assert.equal(p.next('probe'), first + 1);
});

test('a local clock that is off (faked two minutes ahead): once measured, its knocks leave no floor for the next run', () => {
  const ahead = 120_000;
  const c = new KnockClock(() => T0 + ahead, 0); // the stored offset (0) no longer holds
  c.next('knock');
  c.next('probe');
  c.calibrate(-ahead, 30); // the probe's answer: the server is two minutes behind this clock
  assert.equal(c.floor('knock'), -1);
  assert.equal(c.floor('probe'), S0 + 120); // within the probe window: the server may have recorded it
});

test('clock verdicts: keep the stored offset, reset it to the measured one, or the clock is off', () => {
  assert.deepEqual(clockVerdict(10_000, 9_000, 30), { kind: 'keep' });
  assert.deepEqual(clockVerdict(200, 300_000, 30), { kind: 'reset', offsetMs: 200 });
  assert.deepEqual(clockVerdict(-300_000, 0, 30), { kind: 'off', offsetMs: -300_000 });
  assert.deepEqual(clockVerdict(600_000, 600_500, 30), { kind: 'keep' });
  assert.equal(fitsWindow(28_500, 30), true);
  assert.equal(fitsWindow(28_501, 30), false);
  assert.equal(fitsWindow(3_500, 5), true);
});

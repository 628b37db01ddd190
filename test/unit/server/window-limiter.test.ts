/** WindowLimiter on its own (issue 16): allowance per fixed window, allowed() does not count, bounded keys. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WindowLimiter } from '../../../server/window-limiter.js';

test('hit counts within the window; the next window starts afresh', () => {
  const l = new WindowLimiter(3, 1000, 10);
  assert.deepEqual([l.hit('k', 0), l.hit('k', 1), l.hit('k', 999), l.hit('k', 999)], [true, true, true, false]);
  assert.equal(l.hit('k', 1000), true);
  assert.equal(l.hit('other', 1000), true, 'keys are independent');
});

test('allowed() reads without counting', () => {
  const l = new WindowLimiter(1, 1000, 10);
  for (let i = 0; i < 5; i++) assert.equal(l.allowed('k', 0), true);
  l.hit('k', 0);
  assert.equal(l.allowed('k', 500), false);
  assert.equal(l.allowed('k', 1000), true);
});

test('at most maxKeys windows are kept: the oldest goes', () => {
  const l = new WindowLimiter(1, 1000, 2);
  l.hit('a', 0);
  l.hit('b', 0);
  l.hit('c', 0);
  assert.equal(l.size, 2);
  assert.equal(l.allowed('a', 1), true, 'a was evicted: a fresh window');
  assert.equal(l.allowed('c', 1), false);
});

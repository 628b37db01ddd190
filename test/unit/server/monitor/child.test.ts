import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { RestartBackoff, STABLE_MS, stopChild } from '../../../../server/monitor/child.js';

test('RestartBackoff: each quick death waits longer, up to the last delay; a child that lived past STABLE_MS starts over', () => {
  const b = new RestartBackoff([10, 20, 40]);
  const t0 = 1_000_000;
  assert.deepEqual([1, 2, 3, 4, 5].map(() => b.next(t0, t0 + 100)), [10, 20, 40, 40, 40]);
  assert.equal(b.next(t0, t0 + STABLE_MS + 1), 10);
  assert.equal(b.next(t0, t0 + 5), 20);
  assert.throws(() => new RestartBackoff([]), RangeError);
});

test('stopChild: a child that has already exited resolves at once (no wait for an exit event that never comes)', { timeout: 10_000 }, async () => {
  const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await once(c, 'exit');
  await stopChild(c, 60_000);
});

test('stopChild: SIGTERM first; a child that ignores it is killed with SIGKILL after the grace', async () => {
  const c = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'pipe', 'ignore'] });
  await once(c.stdout!, 'data');
  await stopChild(c, 200);
  assert.equal(c.signalCode, 'SIGKILL');
  const polite = spawn(process.execPath, ['-e', "console.log('ready'); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'pipe', 'ignore'] });
  await once(polite.stdout!, 'data');
  await stopChild(polite, 60_000);
  assert.equal(polite.signalCode, 'SIGTERM');
});

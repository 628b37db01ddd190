/**
 * The agent's per-profile queue (client/agent/serial.ts): one task at a time per key, in order,
 * a failure does not block the next; other keys run in parallel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialQueues } from '../../../../client/agent/serial.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('tasks on one key never overlap and run in arrival order; another key is not held up', async () => {
  const q = new SerialQueues();
  const log: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const task = (name: string, fail = false) => async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    log.push(`start ${name}`);
    await tick();
    await tick();
    log.push(`end ${name}`);
    running--;
    if (fail) throw new Error(name);
    return name;
  };
  const a1 = q.run('a', task('a1'));
  const a2 = q.run('a', task('a2', true));
  const a3 = q.run('a', task('a3'));
  let bDone = false;
  const b1 = q.run('b', task('b1')).then((v) => { bDone = true; return v; });
  assert.equal(q.busy, 2);
  assert.equal(await b1, 'b1');
  assert.ok(bDone && !log.includes('end a2'), 'b finished while a was still queued');
  assert.equal(await a1, 'a1');
  await assert.rejects(a2, /a2/);
  assert.equal(await a3, 'a3');
  const aLog = log.filter((l) => l.endsWith('a1') || l.endsWith('a2') || l.endsWith('a3'));
  assert.deepEqual(aLog, ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
  assert.equal(maxRunning, 2); // one a and one b at most
  await tick();
  assert.equal(q.busy, 0);
});

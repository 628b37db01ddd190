/** Rerun: one run at a time; asked during a run → exactly one more run after it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rerun } from '../../../../server/worker/rerun.js';

test('requests during a run coalesce into one more run; errors reach the caller and do not wedge it', async () => {
  let runs = 0;
  let release: () => void = () => undefined;
  const r = new Rerun(async () => {
    runs++;
    await new Promise<void>((res) => { release = res; });
    return runs;
  });
  const first = r.run();
  const second = r.run();
  const third = r.run();
  assert.equal(second, first);
  assert.equal(third, first);
  release();
  await new Promise((res) => setImmediate(res));
  release();
  assert.equal(await first, 2, 'one extra run for the requests made meanwhile');
  const failing = new Rerun(async () => { throw new Error('down'); });
  await assert.rejects(failing.run(), /down/);
  await assert.rejects(failing.run(), /down/);
});

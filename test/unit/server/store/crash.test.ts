/**
 * Crash safety of acceptKnock: a child process is SIGKILLed after each step of the transaction
 * (and after COMMIT); reopening finds the state exactly as before or exactly as after the whole
 * transaction — never consumed-without-next, never two live sequences, never a sequence both
 * consumed and re-usable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sequenceKey } from '../../../../shared/protocol/sequence.js';
import { migrate, openDatabase } from '../../../../server/store/sqlite/migrate.js';
import { SqliteEngine, ACCEPT_STEPS } from '../../../../server/store/sqlite/engine.js';
import type { AcceptKnockInput } from '../../../../server/store/types.js';
import { acceptInput, checkDeviceSequences, dump, enroll, openStore, seqN, T0, tmpDir } from './fixtures/seed.js';

const REPO = resolve(import.meta.dirname, '../../../..');
const CHILD = join(import.meta.dirname, 'fixtures', 'crash-accept.ts');

/** A database with one device whose first sequence was used once; returns the next knock's input. */
function prepare(path: string, mode: 'first' | 'recovery'): { input: AcceptKnockInput; deviceId: number } {
  const { db, store } = openStore(path);
  const deviceId = enroll(store);
  let input = acceptInput(store, seqN(1), seqN(2));
  if (mode === 'recovery') {
    store.acceptKnock(input);
    input = acceptInput(store, seqN(1), seqN(3), { ts: input.ts + 7, isns: Buffer.alloc(12, 3) });
    assert.equal(input.mode, 'recovery');
  } else {
    // The successor's first use: the consumed parent gets retired in the same transaction.
    store.acceptKnock(input);
    input = acceptInput(store, seqN(2), seqN(3));
  }
  db.close(); // checkpoints the WAL: the file alone is the whole state
  return { input, deviceId };
}

/** The state after the whole transaction, computed in-process on a copy. */
function expectedAfter(path: string, copy: string, input: AcceptKnockInput): string {
  copyFileSync(path, copy);
  const db = openDatabase(copy);
  migrate(db);
  new SqliteEngine(db, { now: () => T0 }).acceptKnock(input);
  const s = dump(db);
  db.close();
  return s;
}

for (const [mode, spill] of [['first', ''], ['recovery', ''], ['first', 'spill'], ['recovery', 'spill']] as const) {
  test(`SIGKILL at each step of an accept ('${mode}'${spill ? ', cache spilling to the WAL' : ''}) leaves exactly the state before or after`, (t) => {
    const dir = tmpDir(t);
    for (const step of ACCEPT_STEPS) {
      const path = join(dir, `${mode}-${step}${spill}.db`);
      const { input, deviceId } = prepare(path, mode);
      const db0 = openDatabase(path);
      const before = dump(db0);
      db0.close();
      const after = expectedAfter(path, join(dir, `${mode}-${step}-expected.db`), input);
      assert.notEqual(before, after);

      const json = JSON.stringify({ ...input, isns: input.isns.toString('hex'), reply: input.reply.toString('hex') });
      const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, path, step, json, spill], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.signal, 'SIGKILL', `${step}: child was not killed (status ${r.status}, ${r.stderr})`);

      const wal = existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0;
      const db = openDatabase(path);
      migrate(db);
      const state = dump(db);
      const store = new SqliteEngine(db, { now: () => T0 });
      if (step === 'committed') assert.equal(state, after, `${step}: committed work must survive`);
      else assert.equal(state, before, `${step}: a killed transaction must leave nothing`);
      assert.deepEqual(checkDeviceSequences(db, deviceId), [], step);
      // The knock's sequence is either still acceptable (before) or consumed with its next live (after).
      const c = store.findByKey(sequenceKey(input.next));
      if (step === 'committed') assert.equal(c?.state, 'live');
      else assert.equal(c, undefined);
      t.diagnostic(`${mode}/${step}: ${step === 'committed' ? 'after' : 'before'} (WAL left by the killed child: ${wal} bytes)`);
      db.close();
    }
  });
}

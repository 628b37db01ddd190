/**
 * Scale: 100,000 enrolled devices (bulk insert in one transaction), then lookups by sequence key
 * stay one index probe. Lookup times are printed as diagnostics, never asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { sequenceKey, type Sequence } from '../../../../shared/protocol/sequence.js';
import { acceptInput, distinctSequences, kdf, key, openStore, tmpDir } from './fixtures/seed.js';

const DEVICES = 100_000;
const RANGE = { first: 20000, last: 24095 }; // 4096 ports, the largest knock range

/** Deterministic pseudo-random bytes (a SHA-256 counter stream). */
function stream(seed: string): (n: number) => Buffer {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n) => {
    while (pool.length < n) pool = Buffer.concat([pool, createHash('sha256').update(`${seed}:${counter++}`).digest()]);
    const out = pool.subarray(0, n);
    pool = pool.subarray(n);
    return Buffer.from(out);
  };
}

test(`${DEVICES.toLocaleString('en')} devices: bulk enrollment in one transaction, then findByKey by one index probe`, (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'scale.db'));
  const sequences: Sequence[] = [];
  const distinct = distinctSequences(RANGE, stream('scale'));

  let t0 = process.hrtime.bigint();
  db.transaction(() => {
    const users = 1000;
    for (let u = 0; u < users; u++) store.addUser(`u${u}`, ['ssh']);
    for (let i = 0; i < DEVICES; i++) {
      const s = distinct();
      sequences.push(s);
      store.enrollDevice({ user: `u${i % users}`, device: `d${i}`, mode: 'add', key: key(i & 0xff), kdf: kdf(), first: s, audit: { event: 'admin.device.add', result: 'ok' } });
    }
  })();
  t.diagnostic(`enrolled ${DEVICES} devices in ${Number(process.hrtime.bigint() - t0) / 1e6} ms`);
  assert.equal(db.prepare('SELECT count(*) FROM devices').pluck().get(), DEVICES);
  assert.equal([...store.liveSequenceKeys()].length, DEVICES);

  const probes = 10_000;
  let hits = 0;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < probes; i++) {
    const c = store.findByKey(sequenceKey(sequences[(i * 7919) % DEVICES]!));
    if (c && c.deviceName === `d${(i * 7919) % DEVICES}`) hits++;
  }
  const hitUs = Number(process.hrtime.bigint() - t0) / 1e3 / probes;
  assert.equal(hits, probes);

  const miss = stream('miss');
  let misses = 0;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < probes; i++) if (store.findByKey(miss(9)) === undefined) misses++;
  const missUs = Number(process.hrtime.bigint() - t0) / 1e3 / probes;
  assert.equal(misses, probes);
  t.diagnostic(`findByKey: ${hitUs.toFixed(2)} µs per hit, ${missUs.toFixed(2)} µs per miss (${probes} each)`);

  // A knock on one of them still rolls the sequence in one transaction.
  const first = sequences[4242]!;
  const next = distinct();
  t0 = process.hrtime.bigint();
  store.acceptKnock(acceptInput(store, first, next));
  t.diagnostic(`acceptKnock (synchronous=FULL): ${Number(process.hrtime.bigint() - t0) / 1e3} µs`);
  assert.equal(store.findByKey(sequenceKey(first))!.state, 'consumed');
  assert.equal(store.findByKey(sequenceKey(next))!.parentId, store.findByKey(sequenceKey(first))!.sequenceId);
  db.close();
});

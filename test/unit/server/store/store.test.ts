/** SqliteEngine (the SQLite backend's synchronous core; the shared contract is in contract.ts): lookup, the one-time rule in acceptKnock, recovery, admin edits, grants, audit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isTumblerError } from '../../../../shared/errors.js';
import { sequenceKey } from '../../../../shared/protocol/sequence.js';
import { migrate, openDatabase } from '../../../../server/store/sqlite/migrate.js';
import { ACCEPT_STEPS, SqliteEngine } from '../../../../server/store/sqlite/engine.js';
import { acceptInput, checkDeviceSequences, dump, enroll, isns, kdf, key, openStore, seqN, T0, tmpDir } from './fixtures/seed.js';

const code = (c: string) => (e: unknown) => isTumblerError(e, c);
const K = (n: number) => sequenceKey(seqN(n));

test('findByKey: one indexed query returns the device, its key, flags and the sequence state; a miss is undefined', (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'db'));
  const deviceId = enroll(store);
  const c = store.findByKey(K(1));
  assert.ok(c);
  assert.equal(c.deviceId, deviceId);
  assert.equal(c.userName, 'alice');
  assert.equal(c.deviceName, 'laptop');
  assert.deepEqual(c.key, key());
  assert.deepEqual(c.services, ['db', 'ssh']);
  assert.equal(c.state, 'live');
  assert.equal(c.parentId, null);
  assert.equal(c.successorLive, false);
  assert.equal(c.userEnabled && c.deviceEnabled, true);
  assert.equal(store.findByKey(K(2)), undefined);
  assert.equal(store.findByKey(Buffer.alloc(9)), undefined);
  const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT 1 FROM sequences s JOIN devices d ON d.id = s.device_id JOIN users u ON u.id = d.user_id
    WHERE s.seq_key = ? AND s.state IN ('live', 'consumed')`).all(K(1)) as Array<{ detail: string }>;
  assert.ok(plan.some((r) => r.detail.includes('sequences_key_active')), JSON.stringify(plan));
  db.close();
});

test("accept 'first' consumes the sequence, issues exactly one next (parent set), records grant and audit", (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'db'));
  const deviceId = enroll(store);
  const before = store.findByKey(K(1))!;
  const r = store.acceptKnock(acceptInput(store, seqN(1), seqN(2)));
  const used = store.findByKey(K(1))!;
  assert.equal(used.state, 'consumed');
  assert.equal(used.consumedAt, T0);
  assert.equal(used.lastTs, Math.floor(T0 / 1000));
  assert.deepEqual(used.lastIsns, isns(9));
  assert.equal(used.lastAddress, '198.51.100.7');
  assert.deepEqual(used.reply, Buffer.alloc(68, 0xab));
  assert.equal(used.successorLive, true);
  const next = store.findByKey(K(2))!;
  assert.equal(next.state, 'live');
  assert.equal(next.sequenceId, r.nextSequenceId);
  assert.equal(next.parentId, before.sequenceId);
  assert.deepEqual(checkDeviceSequences(db, deviceId), []);
  const grants = store.liveGrants(T0);
  assert.equal(grants.length, 1);
  assert.deepEqual({ ...grants[0]!, id: 0 }, {
    id: 0, deviceId, userName: 'alice', deviceName: 'laptop', family: 4, address: '198.51.100.7', port: 50123, service: 'ssh',
    openedAt: T0, expiresAt: T0 + 30_000, closedAt: null, closeReason: null, gateway: 'local', closeRequestedAt: null,
  });
  assert.equal(grants[0]!.id, r.grantId);
  const audit = store.audit({ limit: 1 });
  assert.equal(audit.length, 1);
  assert.equal(audit[0]!.result, 'granted');
  assert.equal(audit[0]!.user, 'alice');
  assert.equal(audit[0]!.port, 50123);
  db.close();
});

test('a second accept of the same sequence in the same mode loses with STORE_CONFLICT and changes nothing', (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'db'));
  enroll(store);
  const input = acceptInput(store, seqN(1), seqN(2));
  store.acceptKnock(input);
  assert.throws(() => store.acceptKnock({ ...input, next: seqN(3) }), code('STORE_CONFLICT'));
  const rec = acceptInput(store, seqN(1), seqN(3), { ts: input.ts + 5 });
  assert.equal(rec.mode, 'recovery');
  store.acceptKnock(rec);
  assert.throws(() => store.acceptKnock({ ...rec, next: seqN(4) }), code('STORE_CONFLICT')); // ts no longer newer
  assert.throws(() => store.acceptKnock({ ...rec, ts: rec.ts + 5, next: seqN(4), deviceId: rec.deviceId + 1 }), code('STORE_CONFLICT'));
  assert.equal(store.liveGrants(T0).length, 2);
  assert.equal(store.findByKey(K(4)), undefined);
  db.close();
});

test('two connections racing to accept the same knock: exactly one wins, the other gets STORE_CONFLICT', (t) => {
  const path = join(tmpDir(t), 'db');
  const a = openStore(path);
  const b = openStore(path);
  enroll(a.store);
  const inA = acceptInput(a.store, seqN(1), seqN(2));
  const inB = acceptInput(b.store, seqN(1), seqN(3)); // both verified against the same live state
  a.store.acceptKnock(inA);
  assert.throws(() => b.store.acceptKnock(inB), code('STORE_CONFLICT'));
  assert.equal(b.store.findByKey(K(3)), undefined);
  assert.equal(b.store.liveGrants(T0).length, 1);
  a.db.close();
  b.db.close();
});

test('an error thrown between steps rolls the whole accept back, and the knock can be accepted afterwards', (t) => {
  const path = join(tmpDir(t), 'db');
  const { db, store } = openStore(path);
  const deviceId = enroll(store);
  const before = dump(db);
  for (const step of ACCEPT_STEPS.filter((s) => s !== 'committed')) {
    const faulty = new SqliteEngine(db, { now: () => T0, faultAfterStep: (s) => { if (s === step) throw new Error(`fault at ${s}`); } });
    assert.throws(() => faulty.acceptKnock(acceptInput(store, seqN(1), seqN(2))), /fault at/);
    assert.equal(dump(db), before, step);
  }
  store.acceptKnock(acceptInput(store, seqN(1), seqN(2)));
  assert.deepEqual(checkDeviceSequences(db, deviceId), []);
  db.close();
});

test('recovery (lost reply): retires the unused successor, refreshes the consumed sequence, issues a new next', (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'db'));
  const deviceId = enroll(store);
  const first = acceptInput(store, seqN(1), seqN(2));
  store.acceptKnock(first);
  // An older or equal timestamp is not a recovery.
  assert.throws(() => store.acceptKnock(acceptInput(store, seqN(1), seqN(3), { ts: first.ts })), code('STORE_CONFLICT'));
  const r = store.acceptKnock(acceptInput(store, seqN(1), seqN(3), { ts: first.ts + 10, isns: isns(7), reply: Buffer.alloc(68, 0xcd) }));
  assert.equal(store.findByKey(K(2)), undefined, 'the unused successor is retired');
  const parent = store.findByKey(K(1))!;
  assert.equal(parent.state, 'consumed');
  assert.equal(parent.lastTs, first.ts + 10);
  assert.deepEqual(parent.lastIsns, isns(7));
  assert.deepEqual(parent.reply, Buffer.alloc(68, 0xcd));
  const next = store.findByKey(K(3))!;
  assert.equal(next.state, 'live');
  assert.equal(next.parentId, parent.sequenceId);
  assert.equal(next.sequenceId, r.nextSequenceId);
  assert.deepEqual(checkDeviceSequences(db, deviceId), []);
  assert.equal(store.audit({ limit: 10 }).at(-1)!.reason, 'RECOVERY');
  db.close();
});

test('once the successor is used the parent is retired: findByKey(parent) is undefined, its key may be issued again', (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'db'));
  const deviceId = enroll(store);
  store.acceptKnock(acceptInput(store, seqN(1), seqN(2)));
  store.acceptKnock(acceptInput(store, seqN(2), seqN(3)));
  assert.equal(store.findByKey(K(1)), undefined);
  assert.equal(store.findByKey(K(2))!.state, 'consumed');
  assert.equal(store.findByKey(K(3))!.state, 'live');
  assert.equal(store.findByKey(K(2))!.successorLive, true); // lost-reply recovery stays possible on it
  assert.deepEqual(checkDeviceSequences(db, deviceId), []);
  assert.deepEqual([...store.liveSequenceKeys()].map((k) => k.toString('hex')).sort(), [K(2), K(3)].map((k) => k.toString('hex')).sort());
  store.acceptKnock(acceptInput(store, seqN(3), seqN(1))); // seqN(1) retired: reusable
  assert.equal(store.findByKey(K(1))!.state, 'live');
  db.close();
});

test('disabled user and device flags come back in findByKey, and acceptKnock refuses them', (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'db'));
  enroll(store);
  const input = acceptInput(store, seqN(1), seqN(2));
  store.setUserEnabled('alice', false);
  assert.equal(store.findByKey(K(1))!.userEnabled, false);
  assert.throws(() => store.acceptKnock(input), code('STORE_CONFLICT'));
  store.setUserEnabled('alice', true);
  store.setDeviceEnabled('alice', 'laptop', false);
  const c = store.findByKey(K(1))!;
  assert.equal(c.userEnabled, true);
  assert.equal(c.deviceEnabled, false);
  assert.throws(() => store.acceptKnock(input), code('STORE_CONFLICT'));
  store.setDeviceEnabled('alice', 'laptop', true);
  store.setUserServices('alice', ['db']);
  assert.deepEqual(store.findByKey(K(1))!.services, ['db']);
  assert.throws(() => store.acceptKnock(input), code('STORE_CONFLICT'));
  store.setUserServices('alice', ['ssh']);
  store.acceptKnock(input);
  assert.throws(() => store.setUserEnabled('nobody', false), code('STORE_NOT_FOUND'));
  assert.throws(() => store.setDeviceEnabled('alice', 'nothing', false), code('STORE_NOT_FOUND'));
  db.close();
});

test('users and devices list with counts; devices list KDF parameters but never the key', (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'db'));
  enroll(store);
  enroll(store, seqN(2), 'alice', 'phone');
  store.addUser('bob', []);
  assert.deepEqual(store.listUsers().map((u) => [u.name, u.devices, u.enabled, u.createdAt]), [['alice', 2, true, T0], ['bob', 0, true, T0]]);
  const d = store.getDevice('alice', 'laptop')!;
  assert.deepEqual(d.kdf, kdf());
  assert.equal(d.activeSequences, 1);
  assert.equal('key' in d, false);
  assert.deepEqual(store.listDevices().map((x) => `${x.userName}/${x.name}`), ['alice/laptop', 'alice/phone']);
  db.close();
});

test('audit: rejected knocks and admin actions, filtered by user and time, newest rows oldest first', (t) => {
  let now = T0;
  const { db, store } = openStore(join(tmpDir(t), 'db'), { now: () => now });
  store.recordAudit({ event: 'knock', user: 'alice', device: 'laptop', address: '198.51.100.7', result: 'rejected', reason: 'REPLAY' });
  now += 1000;
  store.recordAudit({ event: 'user.disable', user: 'bob', result: 'ok' });
  now += 1000;
  store.recordAudit({ event: 'knock', user: 'alice', result: 'rejected', reason: 'KNOCK_STALE' });
  assert.deepEqual(store.audit({ limit: 10 }).map((a) => a.at), [T0, T0 + 1000, T0 + 2000]);
  assert.deepEqual(store.audit({ user: 'alice', limit: 10 }).map((a) => a.reason), ['REPLAY', 'KNOCK_STALE']);
  assert.deepEqual(store.audit({ sinceMs: T0 + 1000, limit: 10 }).map((a) => a.event), ['user.disable', 'knock']);
  assert.deepEqual(store.audit({ limit: 2 }).map((a) => a.at), [T0 + 1000, T0 + 2000]);
  const row = store.audit({ limit: 1 })[0]!;
  assert.equal(row.device, null);
  assert.equal(row.port, null);
  db.close();
});

test('dataVersion changes when another connection commits (the daemon polls it for admin edits)', (t) => {
  const path = join(tmpDir(t), 'db');
  const { db, store } = openStore(path);
  const v = store.dataVersion();
  assert.equal(store.dataVersion(), v);
  const admin = openDatabase(path);
  migrate(admin);
  new SqliteEngine(admin).addUser('carol', []);
  assert.notEqual(store.dataVersion(), v);
  admin.close();
  db.close();
});

test('prune deletes retired sequences, ended grants and old audit rows, nothing in play', (t) => {
  let now = T0;
  const { db, store } = openStore(join(tmpDir(t), 'db'), { now: () => now });
  const laptop = enroll(store);
  store.acceptKnock(acceptInput(store, seqN(1), seqN(2)));
  now += 1000;
  store.acceptKnock(acceptInput(store, seqN(2), seqN(3)));
  now += 120_000;
  const r = store.prune(now);
  assert.deepEqual(r, { sequences: 1, grants: 2, audit: 3 }); // enrollment, two knocks
  assert.deepEqual(checkDeviceSequences(db, laptop), []);
  assert.equal(store.findByKey(K(3))!.state, 'live');
  db.close();
});

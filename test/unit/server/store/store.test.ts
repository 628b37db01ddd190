/** SqliteStore: lookup, the one-time rule in acceptKnock, recovery, admin edits, grants, audit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isTumblerError } from '../../../../shared/errors.js';
import { sequenceKey } from '../../../../shared/protocol/sequence.js';
import { migrate, openDatabase } from '../../../../server/store/migrate.js';
import { ACCEPT_STEPS, SqliteStore } from '../../../../server/store/store.js';
import { acceptInput, checkDeviceSequences, dump, enroll, isns, kdf, key, openStore, RANGE, seq, seqN, T0, tmpDir } from './fixtures/seed.js';

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
  assert.deepEqual(used.replyMeta, { serverAddress: '192.0.2.1' });
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
    openedAt: T0, expiresAt: T0 + 30_000, closedAt: null, closeReason: null,
  });
  assert.equal(grants[0]!.id, r.grantId);
  const audit = store.audit({ limit: 10 });
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
    const faulty = new SqliteStore(db, { now: () => T0, faultAfterStep: (s) => { if (s === step) throw new Error(`fault at ${s}`); } });
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

test('a next sequence already in play → STORE_SEQUENCE_COLLISION and the whole transaction rolls back', (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'db'));
  enroll(store);
  enroll(store, seqN(5), 'bob', 'phone');
  assert.throws(() => store.acceptKnock(acceptInput(store, seqN(1), seqN(5))), code('STORE_SEQUENCE_COLLISION'));
  assert.throws(() => store.acceptKnock(acceptInput(store, seqN(1), seqN(1))), code('STORE_SEQUENCE_COLLISION'));
  assert.equal(store.findByKey(K(1))!.state, 'live');
  assert.equal(store.liveGrants(T0).length, 0);
  assert.equal(store.audit({ limit: 10 }).length, 0);
  assert.throws(() => store.addDevice('alice', 'tablet', key(), kdf(), seqN(5)), code('STORE_SEQUENCE_COLLISION'));
  assert.equal(store.getDevice('alice', 'tablet'), undefined);
  db.close();
});

test('generateUniqueSequence draws sequences not in play, and gives up after bounded draws', (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'db'));
  enroll(store, seq([40000, 40001, 40002], [0, 0, 0]));
  const s = store.generateUniqueSequence(RANGE);
  assert.ok(s.ports[0] >= RANGE.first && s.ports[2] <= RANGE.last);
  assert.equal(store.findByKey(sequenceKey(s)), undefined);
  // A random source that always yields the enrolled sequence (ports 0,1,2 of the range; tags 0).
  let n = 0;
  const stuck = new SqliteStore(db, { random: (k) => (k === 2 ? Buffer.from([0, n++ % 3]) : Buffer.alloc(k)) });
  assert.throws(() => stuck.generateUniqueSequence({ first: 40000, last: 40099 }), code('STORE_SEQUENCE_COLLISION'));
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

test('deleting a user cascades to devices and sequences and returns its live grants; grant rows stay', (t) => {
  let now = T0;
  const { db, store } = openStore(join(tmpDir(t), 'db'), { now: () => now });
  enroll(store);
  const bobDevice = enroll(store, seqN(7), 'bob', 'phone');
  store.acceptKnock(acceptInput(store, seqN(1), seqN(2)));
  store.acceptKnock(acceptInput(store, seqN(7), seqN(8), { address: '203.0.113.9' }));
  now += 60_000;
  store.acceptKnock(acceptInput(store, seqN(2), seqN(3), { port: 50124 }));
  const live = store.deleteUser('alice');
  assert.deepEqual(live.map((g) => g.port), [50124]); // the first grant has expired
  assert.equal(store.getUser('alice'), undefined);
  assert.deepEqual(store.listDevices().map((d) => d.userName), ['bob']);
  assert.equal(db.prepare('SELECT count(*) FROM sequences WHERE device_id NOT IN (SELECT id FROM devices)').pluck().get(), 0);
  assert.equal(store.findByKey(K(3)), undefined);
  assert.equal(store.findByKey(K(8))!.deviceId, bobDevice);
  const rows = store.listGrants();
  assert.equal(rows.length, 3);
  assert.deepEqual(rows.filter((g) => g.userName === 'alice').map((g) => g.deviceId), [null, null]);
  assert.deepEqual(store.closeGrantsOf('alice', 'revoked').map((g) => [g.port, g.closeReason]), [[50124, 'revoked']]);
  assert.throws(() => store.deleteUser('alice'), code('STORE_NOT_FOUND'));
  db.close();
});

test('deleting a device returns its live grants; re-enrolling retires every sequence and issues a new first one', (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'db'));
  const laptop = enroll(store);
  enroll(store, seqN(20), 'alice', 'phone');
  store.acceptKnock(acceptInput(store, seqN(1), seqN(2)));
  assert.equal(store.reenrollDevice('alice', 'laptop', key(9), kdf(), seqN(4)), laptop);
  assert.equal(store.findByKey(K(1)), undefined);
  assert.equal(store.findByKey(K(2)), undefined);
  const c = store.findByKey(K(4))!;
  assert.deepEqual(c.key, key(9));
  assert.equal(c.parentId, null);
  assert.deepEqual(checkDeviceSequences(db, laptop), []);
  const grants = store.deleteDevice('alice', 'laptop');
  assert.equal(grants.length, 1);
  assert.equal(grants[0]!.deviceName, 'laptop');
  assert.deepEqual(store.listDevices('alice').map((d) => d.name), ['phone']);
  assert.equal(store.getUser('alice')!.devices, 1);
  assert.throws(() => store.deleteDevice('alice', 'laptop'), code('STORE_NOT_FOUND'));
  assert.throws(() => store.reenrollDevice('alice', 'laptop', key(), kdf(), seqN(5)), code('STORE_NOT_FOUND'));
  db.close();
});

test('names are validated; duplicates and missing rows have their own codes', (t) => {
  const { db, store } = openStore(join(tmpDir(t), 'db'));
  for (const bad of ['', 'Alice', '1abc', 'a b', 'x'.repeat(33), 'al/ice']) assert.throws(() => store.addUser(bad, []), code('STORE_BAD_NAME'), bad);
  assert.throws(() => store.addUser('alice', ['SSH']), code('STORE_BAD_NAME'));
  store.addUser('_svc.x-1', []);
  store.addUser('alice', ['ssh', 'ssh', 'db']);
  assert.deepEqual(store.getUser('alice')!.services, ['db', 'ssh']);
  assert.throws(() => store.addUser('alice', []), code('STORE_EXISTS'));
  for (const bad of ['', '-x', '_x', 'Phone', 'a b', 'y'.repeat(33)]) {
    assert.throws(() => store.addDevice('alice', bad, key(), kdf(), seqN(1)), code('STORE_BAD_NAME'), bad);
  }
  store.addDevice('alice', '0phone', key(), kdf(), seqN(1));
  assert.throws(() => store.addDevice('alice', '0phone', key(), kdf(), seqN(2)), code('STORE_EXISTS'));
  assert.throws(() => store.addDevice('bob', 'phone', key(), kdf(), seqN(2)), code('STORE_NOT_FOUND'));
  assert.throws(() => store.addDevice('alice', 'tab', Buffer.alloc(15), kdf(), seqN(2)), code('STORE_INVALID'));
  assert.throws(() => store.addDevice('alice', 'tab', key(), kdf(), seq([40002, 40001, 40003])), code('SEQUENCE_INVALID'));
  assert.throws(() => store.listDevices('bob'), code('STORE_NOT_FOUND'));
  assert.throws(() => store.setUserServices('bob', []), code('STORE_NOT_FOUND'));
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

test('grants: live set for reconcile, listing, closing (idempotent), admin grants without a device', (t) => {
  let now = T0;
  const { db, store } = openStore(join(tmpDir(t), 'db'), { now: () => now });
  const laptop = enroll(store);
  const { grantId } = store.acceptKnock(acceptInput(store, seqN(1), seqN(2)));
  const admin = store.addGrant({ family: 6, address: '2001:db8::5', port: 50200, service: 'ssh', ttlSec: 600 });
  assert.deepEqual(store.liveGrants(now).map((g) => g.id), [grantId, admin]);
  assert.deepEqual(store.liveGrants(T0 + 30_000).map((g) => g.id), [admin]);
  assert.equal(store.listGrants({ activeOnly: true, now: T0 + 30_000 }).length, 1);
  assert.deepEqual(store.listGrants({ limit: 1 }).map((g) => g.id), [admin]);
  now += 1000;
  const closed = store.closeGrant(admin, 'admin')!;
  assert.equal(closed.closedAt, now);
  assert.equal(closed.closeReason, 'admin');
  assert.equal(closed.deviceId, null);
  assert.equal(store.closeGrant(admin, 'again'), undefined);
  assert.throws(() => store.closeGrant(9999, 'x'), code('STORE_NOT_FOUND'));
  assert.deepEqual(store.closeGrantsOf(laptop, 'revoked').map((g) => g.id), [grantId]);
  assert.equal(store.liveGrants(now).length, 0);
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
  new SqliteStore(admin).addUser('carol', []);
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
  assert.deepEqual(r, { sequences: 1, grants: 2, audit: 2 });
  assert.deepEqual(checkDeviceSequences(db, laptop), []);
  assert.equal(store.findByKey(K(3))!.state, 'live');
  db.close();
});

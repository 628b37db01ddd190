/**
 * The restore's resynchronisation (server/store/sqlite/resync.ts): a device that knocked after the
 * backup gets its newer state carried into the restored store (and the lost-reply recovery still
 * works there); a key already in play for another device rolls that device back; the comparison
 * names every other difference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sequenceKey } from '../../../../shared/protocol/sequence.js';
import { compareStores, resync, snapshotStores } from '../../../../server/store/sqlite/resync.js';
import { acceptInput, checkDeviceSequences, enroll, kdf, key, openStore, seqN, T0, tmpDir } from './fixtures/seed.js';

/** A store with alice/laptop (and others), a copy of it (the backup), then the original moves on. */
function backupThenMoveOn(t: { after: (fn: () => void) => void }) {
  const dir = tmpDir(t);
  const now = openStore(join(dir, 'now.db'));
  enroll(now.store, seqN(1));
  enroll(now.store, seqN(10), 'bob', 'phone');
  enroll(now.store, seqN(20), 'dave', 'pc');
  now.db.exec(`VACUUM INTO '${join(dir, 'backup.db')}'`);
  const backup = openStore(join(dir, 'backup.db'));
  t.after(() => {
    now.db.close();
    backup.db.close();
  });
  return { now, backup };
}

test('a device that knocked after the backup: its consumed and live sequences, reply and parent link, are carried over; the older one retired', (t) => {
  const { now, backup } = backupThenMoveOn(t);
  now.store.acceptKnock(acceptInput(now.store, seqN(1), seqN(2)));
  const s = snapshotStores(backup.db, now.db);
  const c = compareStores(s);
  assert.deepEqual(c.movedOn, [{ user: 'alice', device: 'laptop' }]);
  assert.equal(c.unchanged, 2);
  const r = resync(backup.db, s, c.movedOn, T0 + 1000);
  assert.deepEqual(r, { carried: [{ user: 'alice', device: 'laptop' }], failed: [] });
  const live = backup.store.findByKey(sequenceKey(seqN(2)))!;
  assert.equal(live.state, 'live');
  const consumed = backup.store.findByKey(sequenceKey(seqN(1)))!;
  assert.equal(consumed.state, 'consumed');
  assert.equal(consumed.successorLive, true, 'the lost-reply recovery still finds its successor');
  assert.deepEqual(consumed.reply, now.store.findByKey(sequenceKey(seqN(1)))!.reply);
  assert.deepEqual(checkDeviceSequences(backup.db, live.deviceId), []);
  assert.equal(backup.db.prepare(`SELECT count(*) FROM sequences WHERE device_id = ? AND state = 'retired'`).pluck().get(live.deviceId), 1);
  assert.equal(compareStores(snapshotStores(backup.db, now.db)).movedOn.length, 0, 'the same state now');
  // The next knock works in the restored store, and the old one is a replay there.
  backup.store.acceptKnock(acceptInput(backup.store, seqN(2), seqN(3)));
  assert.equal(backup.store.findByKey(sequenceKey(seqN(1))), undefined);
});

test('a device re-enrolled after the backup gets its new key, KDF parameters and sequence', (t) => {
  const { now, backup } = backupThenMoveOn(t);
  now.store.enrollDevice({ user: 'bob', device: 'phone', mode: 'reenroll', key: key(9), kdf: { ...kdf(), salt: Buffer.alloc(16, 9) }, first: seqN(11),
    audit: { event: 'admin.device.reenroll', user: 'bob', device: 'phone', result: 'ok' } });
  const s = snapshotStores(backup.db, now.db);
  const c = compareStores(s);
  assert.deepEqual(c.movedOn, [{ user: 'bob', device: 'phone' }]);
  resync(backup.db, s, c.movedOn, T0);
  const b = backup.store.findByKey(sequenceKey(seqN(11)))!;
  assert.deepEqual(b.key, key(9));
  assert.equal(backup.store.findByKey(sequenceKey(seqN(10))), undefined, 'the old key\'s sequence is dead');
});

test('a carried key in play for another device in the restored store rolls that device back (locked out), the others go through', (t) => {
  const { now, backup } = backupThenMoveOn(t);
  now.store.acceptKnock(acceptInput(now.store, seqN(1), seqN(2)));
  now.store.acceptKnock(acceptInput(now.store, seqN(20), seqN(21)));
  // In the restored store, seqN(2) belongs to someone else (a retired key drawn again, say).
  enroll(backup.store, seqN(2), 'zed', 'box');
  const s = snapshotStores(backup.db, now.db);
  const c = compareStores(s);
  const r = resync(backup.db, s, c.movedOn, T0);
  assert.deepEqual(r.failed, [{ user: 'alice', device: 'laptop' }]);
  assert.deepEqual(r.carried, [{ user: 'dave', device: 'pc' }]);
  assert.equal(backup.store.findByKey(sequenceKey(seqN(1)))!.state, 'live', 'alice is as in the backup');
  assert.equal(backup.store.findByKey(sequenceKey(seqN(2)))!.userName, 'zed');
  assert.equal(backup.store.findByKey(sequenceKey(seqN(21)))!.userName, 'dave');
});

test('the comparison names users and devices added, deleted, enabled otherwise, and changed services', (t) => {
  const { now, backup } = backupThenMoveOn(t);
  enroll(now.store, seqN(30), 'carol', 'laptop');
  enroll(now.store, seqN(31), 'alice', 'phone');
  now.store.setUserEnabled('dave', false);
  now.store.setDeviceEnabled('bob', 'phone', false);
  now.store.setUserServices('alice', ['ssh']);
  now.store.deleteUser('bob');
  enroll(backup.store, seqN(40), 'dave', 'old');
  const c = compareStores(snapshotStores(backup.db, now.db));
  assert.deepEqual(c.usersAddedAfter, ['carol']);
  assert.deepEqual(c.devicesAddedAfter, [{ user: 'carol', device: 'laptop' }, { user: 'alice', device: 'phone' }]);
  assert.deepEqual(c.usersDeletedAfter, ['bob']);
  assert.deepEqual(c.devicesDeletedAfter, [{ user: 'dave', device: 'old' }]);
  assert.deepEqual(c.enablement, [{ user: 'dave', enabled: true }]);
  assert.deepEqual(c.servicesChanged, [{ user: 'alice', restored: ['db', 'ssh'], replaced: ['ssh'] }]);
});

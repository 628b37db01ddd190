import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { TumblerConfig } from '../../../../server/config/types.js';
import { findAccount } from '../../../../server/account.js';
import { openAdminDatabase } from '../../../../server/admin/database.js';
import { ensureWorkerUser, WORKER } from '../../../integration/admin-cli.helpers.js';

let root = '';
let worker: { uid: number; gid: number };
const cfgFor = (path: string, user = WORKER): TumblerConfig => ({ store: { backend: 'sqlite', path }, fleet: { gateway: 'gw-test', gateways: [] }, user } as unknown as TumblerConfig);

before(() => {
  worker = ensureWorkerUser();
  root = mkdtempSync(join(tmpdir(), 'tmb-admin-db-'));
  chmodSync(root, 0o711);
});
after(() => { rmSync(root, { recursive: true, force: true }); });

test('a new database: directory 0700 and files owned by the worker user, schema migrated', async () => {
  const db = join(root, 'new', 'deeper', 'tumbler.db');
  const h = await openAdminDatabase(cfgFor(db));
  try {
    assert.ok(h.migrated.to >= 1);
    assert.equal(h.migrated.from, 0);
    for (const f of [db, `${db}-wal`, `${db}-shm`]) assert.equal(statSync(f).uid, worker.uid, f);
    assert.equal(statSync(db).mode & 0o777, 0o600);
  } finally {
    await h.close();
  }
  const dir = statSync(join(root, 'new', 'deeper'));
  assert.equal(dir.uid, worker.uid);
  assert.equal(dir.mode & 0o777, 0o700);
});

test('an existing worker-owned database gets root-owned -wal/-shm handed back at open', async () => {
  const db = join(root, 'new', 'deeper', 'tumbler.db');
  const holder = new Database(db);
  try {
    holder.prepare('SELECT 1').get();
    chownSync(`${db}-wal`, 0, 0);
    chownSync(`${db}-shm`, 0, 0);
    const h = await openAdminDatabase(cfgFor(db));
    await h.close();
    for (const f of [`${db}-wal`, `${db}-shm`]) assert.equal(statSync(f).uid, worker.uid, f);
  } finally {
    holder.close();
  }
});

test('a database owned by someone else is left as it is (doctor reports it)', async () => {
  const dir = join(root, 'rootowned');
  mkdirSync(dir, { mode: 0o700 });
  const db = join(dir, 'tumbler.db');
  new Database(db).close();
  await (await openAdminDatabase(cfgFor(db))).close();
  assert.equal(statSync(db).uid, 0);
});

test('no worker account: a new database is refused; accounts resolve by name', async () => {
  await assert.rejects(openAdminDatabase(cfgFor(join(root, 'x', 'tumbler.db'), 'no-such-user-tmb')), { code: 'ADMIN_NO_WORKER_USER' });
  assert.equal(findAccount(WORKER)?.uid, worker.uid);
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findAccount, type AccountInfo } from '../../../../server/account.js';
import { databaseChecks } from '../../../../server/admin/doctor-files.js';

let root = '';
const account: AccountInfo = { name: 'nobody-test', uid: 12345, gid: 12345 };
const status = (checks: ReturnType<typeof databaseChecks>): Record<string, string> => Object.fromEntries(checks.map((c) => [c.name, c.status]));

before(() => { root = mkdtempSync(join(tmpdir(), 'tmb-admin-doc-')); });
after(() => { rmSync(root, { recursive: true, force: true }); });

test('a missing directory or database is a warning (not created yet)', () => {
  assert.deepEqual(status(databaseChecks(join(root, 'none', 'tumbler.db'), account)), { 'database-dir': 'warn' });
  const dir = join(root, 'empty');
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, account.uid, account.gid);
  assert.deepEqual(status(databaseChecks(join(dir, 'tumbler.db'), account)), { 'database-dir': 'ok', 'database-file': 'warn' });
});

test('owned by the worker, 0700 directory and 0600 files: all ok', () => {
  const dir = join(root, 'good');
  mkdirSync(dir, { mode: 0o700 });
  const db = join(dir, 'tumbler.db');
  for (const p of [db, `${db}-wal`, `${db}-shm`]) { writeFileSync(p, 'x', { mode: 0o600 }); chownSync(p, account.uid, account.gid); }
  chownSync(dir, account.uid, account.gid);
  assert.deepEqual(status(databaseChecks(db, account)), { 'database-dir': 'ok', 'database-file': 'ok', 'database-wal': 'ok', 'database-shm': 'ok' });
});

test('a readable database, a root-owned -wal, an open directory are each reported', () => {
  const dir = join(root, 'bad');
  mkdirSync(dir, { mode: 0o700 });
  chmodSync(dir, 0o755);
  chownSync(dir, account.uid, account.gid);
  const db = join(dir, 'tumbler.db');
  writeFileSync(db, 'x', { mode: 0o644 });
  chownSync(db, account.uid, account.gid);
  writeFileSync(`${db}-wal`, 'x', { mode: 0o600 }); // owned by root
  const checks = databaseChecks(db, account);
  assert.deepEqual(status(checks), { 'database-dir': 'warn', 'database-file': 'fail', 'database-wal': 'fail', 'database-shm': 'ok' });
  assert.ok(checks.find((c) => c.name === 'database-wal')!.hint!.startsWith(`chown ${account.name}:`));
  chmodSync(dir, 0o777);
  assert.equal(status(databaseChecks(db, account))['database-dir'], 'fail');
});

test('accounts resolve through getent; unknown or malformed names are null', () => {
  assert.equal(findAccount('root')?.uid, 0);
  assert.equal(findAccount('no-such-user-tmb'), null);
  assert.equal(findAccount('../etc'), null);
});

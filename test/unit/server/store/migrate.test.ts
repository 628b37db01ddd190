/** Opening the database (pragmas, file modes, errors) and the forward-only migrations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isTumblerError } from '../../../../shared/errors.js';
import {
  chownDatabaseFiles, codeSchemaVersion, findMigrationsDir, listMigrations, migrate, openDatabase,
} from '../../../../server/store/migrate.js';
import { SqliteStore } from '../../../../server/store/store.js';
import { enroll, T0, tmpDir } from './fixtures/seed.js';

const REPO = resolve(import.meta.dirname, '../../../..');
const code = (c: string) => (e: unknown) => isTumblerError(e, c);

test('migrations apply from empty, stamp user_version and schema_history, and are idempotent', (t) => {
  const path = join(tmpDir(t), 'tumbler.db');
  const db = openDatabase(path, { now: () => T0 });
  const latest = codeSchemaVersion();
  assert.deepEqual(migrate(db), { from: 0, to: latest });
  assert.equal(db.pragma('user_version', { simple: true }), latest);
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
  for (const name of ['audit', 'devices', 'grants', 'schema_history', 'sequences', 'users']) assert.ok(tables.includes(name), name);
  assert.deepEqual(db.prepare('SELECT version, applied_at FROM schema_history').all(), [{ version: 1, applied_at: T0 }]);
  assert.deepEqual(migrate(db), { from: latest, to: latest });
  db.close();
  const again = openDatabase(path);
  assert.deepEqual(migrate(again), { from: latest, to: latest });
  assert.equal(again.prepare('SELECT count(*) FROM schema_history').pluck().get(), latest);
  again.close();
});

test('a database newer than the code is refused', (t) => {
  const path = join(tmpDir(t), 'tumbler.db');
  const db = openDatabase(path);
  migrate(db);
  db.pragma(`user_version = ${codeSchemaVersion() + 1}`);
  assert.throws(() => migrate(db), code('STORE_SCHEMA_NEWER'));
  db.close();
});

test('pending files apply in order, one transaction each; a failing one rolls back alone', (t) => {
  const dir = tmpDir(t);
  const mig = join(dir, 'migrations');
  mkdirSync(mig);
  writeFileSync(join(mig, '001_initial.sql'), 'CREATE TABLE schema_history (version INTEGER PRIMARY KEY, name TEXT, applied_at INTEGER); CREATE TABLE a (x);');
  writeFileSync(join(mig, '002_more.sql'), 'CREATE TABLE b (y); INSERT INTO a VALUES (1);');
  const db = openDatabase(join(dir, 'x.db'));
  assert.deepEqual(migrate(db, { dir: mig }), { from: 0, to: 2 });
  writeFileSync(join(mig, '003_broken.sql'), 'CREATE TABLE c (z); INSERT INTO nowhere VALUES (1);');
  assert.throws(() => migrate(db, { dir: mig }), code('STORE_MIGRATION'));
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'c'").pluck().get(), 0);
  writeFileSync(join(mig, '005_gap.sql'), 'SELECT 1;');
  assert.throws(() => listMigrations(mig), code('STORE_MIGRATION'));
  db.close();
});

test('the migrations directory is found from source and from a compiled dist/ path', () => {
  assert.equal(findMigrationsDir(), join(REPO, 'migrations'));
  assert.equal(findMigrationsDir(join(REPO, 'server', 'store')), join(REPO, 'migrations'));
  assert.equal(findMigrationsDir(join(REPO, 'dist', 'server', 'store')), join(REPO, 'migrations'));
  assert.throws(() => findMigrationsDir('/proc/self'), code('STORE_MIGRATION'));
});

test('open sets WAL, synchronous=FULL, foreign keys and a busy timeout', (t) => {
  const db = openDatabase(join(tmpDir(t), 'tumbler.db'));
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('synchronous', { simple: true }), 2);
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.equal(db.pragma('busy_timeout', { simple: true }), 2000);
  db.close();
});

test('the database, -wal and -shm files are mode 0600, even under a permissive umask', (t) => {
  const path = join(tmpDir(t), 'tumbler.db');
  const old = process.umask(0o000);
  let db;
  try {
    db = openDatabase(path);
    migrate(db);
    new SqliteStore(db).addUser('alice', ['ssh']);
  } finally {
    process.umask(old);
  }
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    assert.ok(existsSync(f), f);
    assert.equal(statSync(f).mode & 0o777, 0o600, f);
  }
  db.close();
  chmodSync(path, 0o644);
  openDatabase(path).close();
  assert.equal(statSync(path).mode & 0o777, 0o600, 'an existing file is tightened');
});

test('chownDatabaseFiles hands the database and its WAL files to the daemon account', { skip: process.getuid?.() !== 0 && 'needs root' }, (t) => {
  const path = join(tmpDir(t), 'tumbler.db');
  const db = openDatabase(path);
  migrate(db);
  chownDatabaseFiles(path, 65534, 65534);
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    assert.equal(statSync(f).uid, 65534, f);
    assert.equal(statSync(f).gid, 65534, f);
  }
  db.close();
  chownDatabaseFiles(join(tmpDir(t), 'missing.db'), 65534, 65534); // absent files are skipped
});

test('bad paths fail with STORE_OPEN: missing directory, not a directory, a directory, not a database', (t) => {
  const dir = tmpDir(t);
  const notDb = join(dir, 'junk.db');
  writeFileSync(notDb, Buffer.alloc(4096, 0x5a));
  const cases = [join(dir, 'missing', 'x.db'), join(notDb, 'x.db'), dir, notDb];
  for (const p of cases) {
    assert.throws(() => openDatabase(p), (e: unknown) => isTumblerError(e, 'STORE_OPEN') && e.message.includes(p), p);
  }
  assert.throws(() => openDatabase(join(dir, 'missing', 'x.db')), /ENOENT/);
  assert.throws(() => openDatabase(join(dir, 'nope.db'), { readonly: true }), code('STORE_OPEN'));
});

test('a directory the caller cannot write fails with STORE_OPEN (EACCES)', { skip: process.getuid?.() !== 0 && 'needs root to switch user' }, (t) => {
  const dir = tmpDir(t);
  chmodSync(dir, 0o755); // readable, not writable, by nobody
  const script = `import('${join(REPO, 'server/store/migrate.ts')}').then((m) => { try { m.openDatabase('${join(dir, 'x.db')}'); console.log('opened'); } catch (e) { console.log(e.code, e.message); } })`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { uid: 65534, gid: 65534, cwd: REPO, encoding: 'utf8', timeout: 30_000 });
  assert.match(r.stdout, /^STORE_OPEN .*EACCES/);
});

test('a read-only handle reads but cannot write', (t) => {
  const path = join(tmpDir(t), 'tumbler.db');
  const db = openDatabase(path);
  migrate(db);
  const store = new SqliteStore(db, { now: () => T0 });
  enroll(store);
  const ro = openDatabase(path, { readonly: true });
  const view = new SqliteStore(ro);
  assert.equal(view.listUsers().length, 1);
  assert.throws(() => view.addUser('bob', []));
  ro.close();
  db.close();
});

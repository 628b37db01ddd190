/** Opening the database (pragmas, file modes, errors) and the forward-only migrations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isTumblerError } from '../../../../shared/errors.js';
import { chownDatabaseFiles, codeSchemaVersion, migrate, openDatabase } from '../../../../server/store/sqlite/migrate.js';
import { findMigrationsDir, listMigrations } from '../../../../server/store/migrations.js';
import { SqliteEngine } from '../../../../server/store/sqlite/engine.js';
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
  assert.deepEqual(db.prepare('SELECT version, applied_at FROM schema_history').all(), Array.from({ length: latest }, (_, i) => ({ version: i + 1, applied_at: T0 })));
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
  for (const backend of ['sqlite', 'postgres'] as const) {
    assert.equal(findMigrationsDir(backend), join(REPO, 'migrations', backend));
    assert.equal(findMigrationsDir(backend, join(REPO, 'server', 'store')), join(REPO, 'migrations', backend));
    assert.equal(findMigrationsDir(backend, join(REPO, 'dist', 'server', 'store')), join(REPO, 'migrations', backend));
    assert.throws(() => findMigrationsDir(backend, '/proc/self'), code('STORE_MIGRATION'));
  }
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
    new SqliteEngine(db).addUser('alice', ['ssh']);
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
  const cases = [join(dir, 'missing', 'x.db'), join(notDb, 'x.db'), notDb];
  assert.throws(() => openDatabase(dir), code('STORE_UNSAFE_FILE')); // not a regular file
  for (const p of cases) {
    assert.throws(() => openDatabase(p), (e: unknown) => isTumblerError(e, 'STORE_OPEN') && e.message.includes(p), p);
  }
  assert.throws(() => openDatabase(join(dir, 'missing', 'x.db')), /ENOENT/);
  assert.throws(() => openDatabase(join(dir, 'nope.db'), { readonly: true }), code('STORE_OPEN'));
});

test('a directory the caller cannot write fails with STORE_OPEN (EACCES)', { skip: process.getuid?.() !== 0 && 'needs root to switch user' }, (t) => {
  const dir = tmpDir(t);
  chmodSync(dir, 0o755); // readable, not writable, by nobody
  const script = `import('${join(REPO, 'server/store/sqlite/migrate.ts')}').then((m) => { try { m.openDatabase('${join(dir, 'x.db')}'); console.log('opened'); } catch (e) { console.log(e.code, e.message); } })`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { uid: 65534, gid: 65534, cwd: REPO, encoding: 'utf8', timeout: 30_000 });
  assert.match(r.stdout, /^STORE_OPEN .*EACCES/);
});

test('a read-only handle reads but cannot write', (t) => {
  const path = join(tmpDir(t), 'tumbler.db');
  const db = openDatabase(path);
  migrate(db);
  const store = new SqliteEngine(db, { now: () => T0 });
  enroll(store);
  const ro = openDatabase(path, { readonly: true });
  const view = new SqliteEngine(ro);
  assert.equal(view.listUsers().length, 1);
  assert.throws(() => view.addUser('bob', []));
  ro.close();
  db.close();
});

// Issue 12 §2: the database directory belongs to the worker account. A compromised worker points
// tumbler.db at its own database and tumbler.db-wal at a root file (/etc/shadow in the report);
// root's next admin command must not chown or chmod the target, nor open it as the WAL.
test('symlinked database files are refused (STORE_UNSAFE_FILE) and their targets are left untouched', (t) => {
  const dir = tmpDir(t);
  const own = join(dir, 'worker.db');
  const ownDb = openDatabase(own);
  migrate(ownDb);
  ownDb.close();
  const secret = join(dir, 'shadow');
  writeFileSync(secret, 'root:secret\n', { mode: 0o640 });
  chmodSync(secret, 0o640);
  const path = join(dir, 'tumbler.db');
  symlinkSync(own, path);
  symlinkSync(secret, `${path}-wal`);
  const before = statSync(secret);
  assert.throws(() => openDatabase(path), code('STORE_UNSAFE_FILE'));
  assert.throws(() => chownDatabaseFiles(path, 65534, 65534), code('STORE_UNSAFE_FILE'));
  // Only the WAL a symlink: the real database file passes, the link is still refused.
  const real = join(dir, 'real.db');
  const realDb = openDatabase(real);
  migrate(realDb);
  realDb.close();
  symlinkSync(secret, `${real}-shm`);
  assert.throws(() => chownDatabaseFiles(real, 65534, 65534), code('STORE_UNSAFE_FILE'));
  assert.throws(() => openDatabase(real), code('STORE_UNSAFE_FILE'));
  const after = statSync(secret);
  assert.deepEqual([after.uid, after.gid, after.mode & 0o7777], [before.uid, before.gid, 0o640]);
  assert.equal(readFileSync(secret, 'utf8'), 'root:secret\n');
});

test('a version-1 database (before the fleet) upgrades in place: grants and audit gain a gateway column, rows kept', (t) => {
  const path = join(tmpDir(t), 'old.db');
  const db = openDatabase(path, { now: () => T0 });
  const dir = join(tmpDir(t), 'v1');
  mkdirSync(dir);
  writeFileSync(join(dir, '001_initial.sql'), readFileSync(join(REPO, 'migrations', 'sqlite', '001_initial.sql')));
  assert.deepEqual(migrate(db, { dir }), { from: 0, to: 1 });
  db.prepare(`INSERT INTO grants (family, address, port, service, opened_at, expires_at) VALUES (4, '198.51.100.7', 50001, 'ssh', ?, ?)`).run(T0, T0 + 30_000);
  assert.deepEqual(migrate(db), { from: 1, to: codeSchemaVersion() });
  const store = new SqliteEngine(db, { now: () => T0, gateway: 'gw-a' });
  assert.deepEqual(store.liveGrants(T0).map((g) => [g.port, g.gateway]), [[50001, null]], 'a grant from before the fleet is this host\'s');
  db.close();
});

// Closing an ordinary descriptor of a file drops every POSIX lock the process holds on it, SQLite's
// included: an open connection would then let another process's close delete the WAL under it and
// never see a commit again. The mode and owner changes go through O_PATH descriptors for that reason.
test('tightening modes and handing files back does not cost an open connection its view of later commits', (t) => {
  const path = join(tmpDir(t), 'tumbler.db');
  const db = openDatabase(path);
  migrate(db);
  chownDatabaseFiles(path, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
  const store = new SqliteEngine(db, { now: () => T0 });
  const write = (name: string) => {
    const r = spawnSync(process.execPath, ['-e', `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(path)}); d.prepare("INSERT INTO users (name, services, created_at) VALUES (?, '[]', 0)").run(${JSON.stringify(name)}); d.close();`],
      { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
  };
  for (const [i, name] of ['a', 'b', 'c'].entries()) {
    const before = store.dataVersion();
    write(name);
    assert.notEqual(store.dataVersion(), before, `commit ${i + 1} seen`);
    assert.equal(store.listUsers().length, i + 1);
  }
  db.close();
});

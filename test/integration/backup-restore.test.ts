/**
 * `tumblerd backup` and `tumblerd restore` as subprocesses against a temp config and SQLite store
 * (root, worker user tmbtest): the copy (0600, online, never overwriting or following a link), the
 * refusals (not a Tumbler database, a newer schema, a link, the daemon or anything else holding
 * the database, PostgreSQL), and what a restore rolls back: knocks and re-enrollments after the
 * backup are resynchronised (or, with --no-resync, listed as locked out), every other difference
 * reported with its command, the replaced database kept aside. The devices' side, end to end with
 * the real daemon and client, is test/e2e/ops.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { asUser } from '../../server/store/sqlite/as-user.js';
import { openDatabase } from '../../server/store/sqlite/migrate.js';
import { SqliteStore } from '../../server/store/sqlite/store.js';
import { ensureWorkerUser, errorCode, makeWorld, tumblerd, type CliResult, type TestWorld } from './admin-cli.helpers.js';

const isRoot = process.getuid?.() === 0;
const PASSWORD = 'correct horse battery staple';

interface RestoreJson {
  compared: string;
  resynchronised: string[];
  lockedOut: string[];
  maybeLockedOut: string[];
  keptAside: string[];
  usersAddedAfter?: string[];
  devicesAddedAfter?: string[];
  usersDeletedAfter?: string[];
  enablement?: Array<{ user: string; device?: string; enabled: boolean }>;
}

describe('backup and restore (SQLite)', { skip: !isRoot && 'needs root (the worker account owns the store)' }, () => {
  let w: TestWorld;
  let worker: { uid: number; gid: number };
  let pw = '';
  const run = (...args: string[]): CliResult => tumblerd(w, args);
  const ok = (...args: string[]): CliResult => {
    const r = run(...args);
    assert.equal(r.status, 0, `tumblerd ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const enroll = (user: string, device: string): void => {
    const exists = run('user', 'list', '--json').stdout.includes(`"${user}"`);
    ok(...(exists ? ['device', 'add', user, device] : ['user', 'add', user, '--device', device]), '--password-file', pw, '--out', join(w.dir, `${user}-${device}-${Date.now()}.bundle`));
  };
  /** What the knock path's store transaction does for one accepted knock of this device (the worker's view of "it knocked"). */
  const knock = async (user: string, device: string): Promise<void> => {
    const db = asUser(worker, () => openDatabase(w.database));
    const store = new SqliteStore(db, { gateway: 'gw-test' });
    try {
      const row = db.prepare(`SELECT s.id, s.device_id, s.seq_key FROM sequences s JOIN devices d ON d.id = s.device_id JOIN users u ON u.id = d.user_id
        WHERE u.name = ? AND d.name = ? AND s.state = 'live'`).get(user, device) as { id: number; device_id: number };
      const n = Math.floor(Math.random() * 900);
      await store.acceptKnock({
        sequenceId: row.id, deviceId: row.device_id, ts: Math.floor(Date.now() / 1000), isns: Buffer.alloc(12, 7), address: '198.51.100.2', family: 4,
        service: 'ssh', port: 50001, ttlSec: 30, next: { ports: [40000 + n, 40001 + n, 40002 + n], tags: [1, 2, 3] }, reply: Buffer.alloc(48, 9), mode: 'first',
      });
    } finally {
      await store.close();
    }
  };
  /** Keys of the device's sequences in play, with their states. */
  const inPlay = (dbFile: string, user: string, device: string): string[] => {
    const db = new Database(dbFile, { readonly: true });
    try {
      return (db.prepare(`SELECT hex(s.seq_key) || ':' || s.state FROM sequences s JOIN devices d ON d.id = s.device_id JOIN users u ON u.id = d.user_id
        WHERE u.name = ? AND d.name = ? AND s.state IN ('live', 'consumed') ORDER BY 1`).pluck().all(user, device) as string[]);
    } finally {
      db.close();
    }
  };
  const restoreJson = (...args: string[]): RestoreJson => JSON.parse(ok('restore', ...args, '--pid-file', join(w.dir, 'none.pid'), '--json').stdout) as RestoreJson;

  before(() => {
    worker = ensureWorkerUser();
    w = makeWorld('tmb-backup-');
    // The shortest timestamp window: a restore that leaves a device as the backup had it waits that long.
    writeFileSync(w.config, readFileSync(w.config, 'utf8').replace(/^(\[knock\]\n.*)$/m, '$1\ntimestamp_window = 5'));
    pw = join(w.dir, 'password');
    writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
    for (const [u, d] of [['alice', 'laptop'], ['bob', 'phone'], ['dave', 'pc'], ['erin', 'tab'], ['frank', 'pc']] as const) enroll(u, d);
  });
  after(() => rmSync(w.dir, { recursive: true, force: true }));

  test('backup: a new 0600 file, one self-contained Tumbler database; never over an existing file or a link', () => {
    const file = join(w.dir, 'b1.db');
    const r = ok('backup', file, '--json');
    const j = JSON.parse(r.stdout) as { schema: number; users: number; devices: number; bytes: number };
    assert.deepEqual([j.users, j.devices], [5, 5]);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(file).size, j.bytes);
    assert.ok(!existsSync(`${file}-wal`));
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'delete');
    assert.equal(db.prepare(`SELECT count(*) FROM audit WHERE event = 'admin.backup'`).pluck().get(), 1);
    db.close();
    const again = run('backup', file);
    assert.deepEqual([again.status, errorCode(again)], [3, 'ADMIN_OUT_EXISTS']);
    const target = join(w.dir, 'precious');
    writeFileSync(target, 'keep');
    const link = join(w.dir, 'link.db');
    symlinkSync(target, link);
    const viaLink = run('backup', link);
    assert.deepEqual([viaLink.status, errorCode(viaLink)], [3, 'ADMIN_OUT_EXISTS']);
    assert.equal(readFileSync(target, 'utf8'), 'keep');
    assert.deepEqual(spawnSync('find', [w.dir, '-name', '*tumblerd-backup*']).stdout.toString(), '', 'no temporary directory left');
  });

  test('restore refuses what is not a Tumbler database, a newer schema and a link (exit 2), and leaves the store alone', () => {
    const before = readFileSync(w.database);
    const text = join(w.dir, 'notes.txt');
    writeFileSync(text, 'not a database\n');
    const other = join(w.dir, 'other.db');
    const o = new Database(other);
    o.exec('CREATE TABLE t (x INTEGER)');
    o.close();
    const newer = join(w.dir, 'newer.db');
    ok('backup', newer);
    const n = new Database(newer);
    n.pragma('user_version = 99');
    n.close();
    const link = join(w.dir, 'b-link.db');
    symlinkSync(join(w.dir, 'b1.db'), link);
    for (const [file, code] of [[text, 'ADMIN_RESTORE_INVALID'], [other, 'ADMIN_RESTORE_INVALID'], [newer, 'STORE_SCHEMA_NEWER'], [link, 'ADMIN_RESTORE_INVALID']] as const) {
      const r = run('restore', file, '--pid-file', join(w.dir, 'none.pid'));
      assert.deepEqual([r.status, errorCode(r)], [2, code], `${file}: ${r.stderr}`);
    }
    assert.deepEqual(readFileSync(w.database), before);
    assert.deepEqual(spawnSync('find', [join(w.dir, 'state'), '-name', '*restoring*']).stdout.toString(), '');
  });

  test('restore refuses while the daemon runs or anything holds the database open (exit 4)', async () => {
    const holder: ChildProcess = spawn(process.execPath, ['-e', `const D = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))}); const d = new D(${JSON.stringify(w.database)}, { readonly: true }); d.pragma('user_version'); setInterval(() => {}, 1000)`], { stdio: 'ignore' });
    try {
      await waitFor(() => spawnSync('ls', ['-l', `/proc/${holder.pid}/fd`]).stdout.toString().includes(w.database));
      const r = run('restore', join(w.dir, 'b1.db'), '--pid-file', join(w.dir, 'none.pid'));
      assert.deepEqual([r.status, errorCode(r)], [4, 'ADMIN_DAEMON_RUNNING'], r.stderr);
      assert.match(r.stderr, new RegExp(`pid ${holder.pid}`));
    } finally {
      holder.kill('SIGKILL');
    }
    const daemon = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'tumblerd-restore-test'], { stdio: 'ignore' });
    try {
      const pidFile = join(w.dir, 'tumblerd.pid');
      writeFileSync(pidFile, `${daemon.pid}\n`);
      const r = run('restore', join(w.dir, 'b1.db'), '--pid-file', pidFile);
      assert.deepEqual([r.status, errorCode(r)], [4, 'ADMIN_DAEMON_RUNNING']);
    } finally {
      daemon.kill('SIGKILL');
    }
  });

  test('restore resynchronises the devices that moved on after the backup and reports every other difference', async () => {
    const backup = join(w.dir, 'b2.db');
    ok('backup', backup);
    const aliceAtBackup = inPlay(w.database, 'alice', 'laptop');
    // After the backup: alice knocks twice, bob is re-enrolled, carol is added, dave disabled, erin revoked.
    await knock('alice', 'laptop');
    await knock('alice', 'laptop');
    ok('device', 'reenroll', 'bob', 'phone', '--password-file', pw, '--out', join(w.dir, 'bob-new.bundle'));
    enroll('carol', 'laptop');
    ok('user', 'disable', 'dave');
    ok('user', 'revoke', 'erin');
    const aliceNow = inPlay(w.database, 'alice', 'laptop');
    const bobNow = inPlay(w.database, 'bob', 'phone');
    assert.notDeepEqual(aliceNow, aliceAtBackup);

    const r = restoreJson(backup);
    assert.equal(r.compared, 'compared');
    assert.deepEqual(r.resynchronised.sort(), ['alice/laptop', 'bob/phone']);
    assert.deepEqual(r.lockedOut, []);
    assert.deepEqual(r.usersAddedAfter, ['carol']);
    assert.deepEqual(r.devicesAddedAfter, ['carol/laptop']);
    assert.deepEqual(r.usersDeletedAfter, ['erin']);
    assert.deepEqual(r.enablement, [{ user: 'dave', enabled: true }]);
    // The restored store holds the devices' newer state; nothing consumed after the backup is live again.
    assert.deepEqual(inPlay(w.database, 'alice', 'laptop'), aliceNow);
    assert.deepEqual(inPlay(w.database, 'bob', 'phone'), bobNow);
    const liveAtBackup = aliceAtBackup.find((x) => x.endsWith(':live'))!;
    assert.ok(!inPlay(w.database, 'alice', 'laptop').some((x) => x.startsWith(liveAtBackup.split(':')[0]!)), 'the sequence used after the backup is not in play again');
    const db = new Database(w.database, { readonly: true });
    assert.equal(db.prepare(`SELECT count(*) FROM users WHERE name = 'carol'`).pluck().get(), 0);
    assert.equal(db.prepare(`SELECT count(*) FROM audit WHERE event = 'admin.restore'`).pluck().get(), 1);
    db.close();
    // The replaced database is aside, whole, with what happened after the backup; the store is the worker's.
    assert.equal(r.keptAside.length, 1);
    const aside = new Database(r.keptAside[0]!, { readonly: true });
    assert.equal(aside.prepare(`SELECT count(*) FROM users WHERE name = 'carol'`).pluck().get(), 1);
    aside.close();
    assert.deepEqual([statSync(w.database).uid, statSync(w.database).mode & 0o777], [worker.uid, 0o600]);
    // The text report names the command for each thing to settle.
    ok('user', 'revoke', 'erin');
    copyFileSync(backup, join(w.dir, 'b3.db'));
    const text = ok('restore', join(w.dir, 'b3.db'), '--pid-file', join(w.dir, 'none.pid')).stdout;
    assert.match(text, /the database it replaced is kept as .*\.replaced-\d{8}T\d{6}Z/);
    assert.match(text, /tumblerd user revoke erin/);
  });

  test('with --no-resync, or without a readable database to compare with, the devices that knocked after the backup are listed for re-enrollment', async () => {
    const backup = join(w.dir, 'b4.db');
    ok('backup', backup);
    await knock('frank', 'pc');
    const r = restoreJson(backup, '--no-resync');
    assert.deepEqual(r.resynchronised, []);
    assert.deepEqual(r.lockedOut, ['frank/pc']);
    // frank's sequence used after the backup is live again: the copy went into place only once a
    // knock made on the replaced database could no longer be fresh (its last write + the window).
    assert.ok(statSync(w.database).ctimeMs >= statSync(r.keptAside[0]!).mtimeMs + 5_000, 'held back for timestamp_window');
    const text = ok('restore', backup, '--no-resync', '--pid-file', join(w.dir, 'none.pid')).stdout;
    assert.doesNotMatch(text, /reenroll frank/, 'nothing moved on since the last restore');
    // A store that cannot be read: nothing compared, every device listed.
    writeFileSync(w.database, 'garbage, not SQLite');
    const u = restoreJson(backup);
    assert.equal(u.compared, 'unreadable');
    assert.deepEqual(u.maybeLockedOut.sort(), ['alice/laptop', 'bob/phone', 'dave/pc', 'erin/tab', 'frank/pc']);
    writeFileSync(w.database, 'garbage, not SQLite');
    const t = ok('restore', backup, '--pid-file', join(w.dir, 'none.pid')).stdout;
    assert.match(t, /could not be read/);
    assert.match(t, /tumblerd device reenroll frank pc --out frank-pc\.bundle/);
  });

  test('PostgreSQL stores are refused with a pointer to their own tools (exit 2)', () => {
    const cfg = join(w.dir, 'pg.toml');
    writeFileSync(cfg, readFileSync(w.config, 'utf8').replace(/^database = .*$/m, '') + '\n[store]\nbackend = "postgres"\nurl = "postgresql://tumbler@/tumbler?host=/run/postgresql"\n', { mode: 0o644 });
    const pg = { ...w, config: cfg };
    for (const args of [['backup', join(w.dir, 'pg.db')], ['restore', join(w.dir, 'b1.db')]]) {
      const r = tumblerd(pg, args);
      assert.deepEqual([r.status, errorCode(r)], [2, 'ADMIN_BACKEND'], r.stderr);
      assert.match(r.stderr, /pg_dump|pg_restore/);
    }
  });
});

async function waitFor(cond: () => boolean, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

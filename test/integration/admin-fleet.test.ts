/**
 * The admin CLI around the store (root): symlinked database files refused (issue 12 §2), database
 * strings escaped on the terminal (§5), `store copy` from SQLite into a real PostgreSQL, and the
 * PostgreSQL backend's password file rules and admin commands.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { sequenceKey, type Sequence } from '../../shared/protocol/sequence.js';
import { PostgresStore, poolConfig } from '../../server/store/postgres/store.js';
import { SqliteEngine } from '../../server/store/sqlite/engine.js';
import { havePostgres, TestPostgres } from '../helpers/postgres.js';
import { ensureWorkerUser, errorCode, makeWorld, tumblerd, type TestWorld } from './admin-cli.helpers.js';

const isRoot = process.getuid?.() === 0;
const SEQ: Sequence = { ports: [40010, 40500, 40900], tags: [0x11, 0x22, 0x33] };
let worker: { uid: number; gid: number };
let cluster: TestPostgres | null = null;

before(() => {
  if (!isRoot) return;
  worker = ensureWorkerUser();
  if (havePostgres) cluster = TestPostgres.start({ fsync: false });
});
after(() => cluster?.stop());

function passwordFile(w: TestWorld): string {
  const f = join(w.dir, 'password');
  writeFileSync(f, 'correct horse battery staple\n', { mode: 0o600 });
  return f;
}

/** A world whose config points at PostgreSQL (`url`), optionally with a password_file line. */
function pgWorld(url: string, extra = ''): TestWorld {
  const w = makeWorld('tmb-admin-pg-');
  const text = readFileSync(w.config, 'utf8').replace(/^database = .*$/m, '');
  writeFileSync(w.config, `${text}\n[store]\nbackend = "postgres"\nurl = "${url}"\n${extra}\n[fleet]\ngateway = "gw-a"\n`, { mode: 0o644 });
  return w;
}

test('a symlinked database or -wal in the worker\'s directory: admin commands refuse (STORE_UNSAFE_FILE), the target is untouched', { skip: !isRoot && 'needs root' }, () => {
  const w = makeWorld('tmb-admin-link-');
  assert.equal(tumblerd(w, ['migrate']).status, 0);
  // The worker's own copy of the database, and a root file it wants (standing in for /etc/shadow).
  const own = join(w.dir, 'state', 'own.db');
  renameSync(w.database, own);
  const shadow = join(w.dir, 'shadow');
  writeFileSync(shadow, 'root:$6$secret:19000::::::\n', { mode: 0o640 });
  chownSync(shadow, 0, 0);
  chmodSync(shadow, 0o640);
  symlinkSync(own, w.database);
  symlinkSync(shadow, `${w.database}-wal`);
  for (const args of [['user', 'list'], ['audit'], ['migrate']]) {
    const r = tumblerd(w, args);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(errorCode(r), 'STORE_UNSAFE_FILE');
  }
  const st = statSync(shadow);
  assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o640]);
  assert.equal(readFileSync(shadow, 'utf8'), 'root:$6$secret:19000::::::\n');
});

test('strings from the database reach the terminal escaped: audit, grants list, user list, stderr', { skip: !isRoot && 'needs root' }, () => {
  const w = makeWorld('tmb-admin-esc-');
  assert.equal(tumblerd(w, ['migrate']).status, 0);
  // The database belongs to the worker account: a compromised worker can write any row.
  const db = new Database(w.database);
  const evil = 'x\x1b[2J\x1b]0;owned\x07\r\n\u009b31m';
  db.prepare("INSERT INTO users (name, enabled, services, created_at) VALUES (?, 1, '[]', 0)").run(evil);
  db.prepare("INSERT INTO audit (at, event, user, device, reason, result) VALUES (0, 'knock', ?, ?, ?, 'rejected')").run(evil, evil, evil);
  db.prepare(`INSERT INTO grants (family, address, port, service, opened_at, expires_at, user_name) VALUES (4, ?, 50001, ?, 0, ?, ?)`)
    .run(`198.51.100.7${evil}`, `ssh${evil}`, Date.now() + 600_000, evil);
  db.close();
  chownSync(w.database, worker.uid, worker.gid);
  for (const args of [['audit'], ['grants', 'list'], ['user', 'list'], ['audit', '--json'], ['grants', 'list', '--json'], ['user', 'list', '--json']]) {
    const r = tumblerd(w, args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, args.join(' '));
    assert.ok(r.stdout.includes('x') && /\\(x1b|u001b)/.test(r.stdout), args.join(' '));
  }
  const gone = tumblerd(w, ['grants', 'close', '1']);
  assert.doesNotMatch(gone.stderr, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
});

test('store copy: a SQLite store moves into an empty PostgreSQL with nothing re-enrolled; a non-empty target is refused', { skip: !havePostgres && 'needs root and PostgreSQL 15' }, async () => {
  const w = makeWorld('tmb-admin-copy-');
  const pw = passwordFile(w);
  let r = tumblerd(w, ['user', 'add', 'alice', '--password-file', pw, '--out', join(w.dir, 'alice.bundle')]);
  assert.equal(r.status, 0, r.stderr);
  // A knock accepted on this host before the move: its sequence is consumed (reply kept for
  // recovery), the successor live, a grant and audit rows exist.
  const db = new Database(w.database);
  const engine = new SqliteEngine(db, { gateway: hostname() }); // the config names no gateway: the host name
  engine.enrollDevice({ user: 'alice', device: 'phone', mode: 'add', key: Buffer.alloc(16, 5), kdf: { salt: Buffer.alloc(16, 1), N: 1 << 15, r: 8, p: 1 }, first: SEQ, audit: { event: 'admin.device.add', result: 'ok' } });
  const c = engine.findByKey(sequenceKey(SEQ))!;
  engine.acceptKnock({
    sequenceId: c.sequenceId, deviceId: c.deviceId, ts: 1_800_000_000, isns: Buffer.alloc(12, 9), address: '198.51.100.7', family: 4,
    service: 'ssh', port: 50123, ttlSec: 30, next: { ports: [40001, 40002, 40003], tags: [4, 5, 6] }, reply: Buffer.alloc(68, 0xab), mode: 'first',
  });
  db.close();
  chownSync(w.database, worker.uid, worker.gid);

  const url = cluster!.createDatabase();
  r = tumblerd(w, ['store', 'copy', '--to', url]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /copied 1 users, 2 devices, 3 sequences, 1 grants, \d+ audit rows/);

  const cfg = poolConfig(url, undefined, 'gw-b');
  const store = new PostgresStore(new pg.Pool(cfg), cfg, { gateway: 'gw-b' });
  try {
    assert.deepEqual((await store.listDevices('alice')).map((d) => [d.name, d.activeSequences]), [['default', 1], ['phone', 2]]);
    const consumed = (await store.findByKey(sequenceKey(SEQ)))!;
    assert.equal(consumed.state, 'consumed');
    assert.equal(consumed.successorLive, true, 'a lost reply can still be recovered after the move');
    assert.deepEqual(consumed.reply, Buffer.alloc(68, 0xab));
    assert.deepEqual(consumed.key, Buffer.alloc(16, 5));
    assert.deepEqual((await store.listGrants()).map((g) => [g.gateway, g.port]), [[hostname(), 50123]]);
    assert.ok((await store.audit({ limit: 10 })).every((a) => a.gateway === hostname()));
    // New rows continue after the copied ids.
    const id = await store.recordAudit({ event: 'after.copy', result: 'ok' });
    assert.ok(id > Math.max(...(await store.audit({ limit: 10 })).filter((a) => a.event !== 'after.copy').map((a) => a.id)));
  } finally {
    await store.close();
  }
  r = tumblerd(w, ['store', 'copy', '--to', url]);
  assert.equal(r.status, 3, r.stderr);
  assert.equal(errorCode(r), 'ADMIN_COPY_NOT_EMPTY');
  // The same data through a config on PostgreSQL.
  const p = pgWorld(url);
  r = tumblerd(p, ['device', 'list', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as Array<{ device: string }>).map((d) => d.device), ['default', 'phone']);
});

test('postgres password_file: refused when a symlink, readable by others or owned by another account; a 0600 root file works', { skip: !havePostgres && 'needs root and PostgreSQL 15' }, () => {
  const url = cluster!.createDatabase();
  const base = makeWorld('tmb-admin-pw-');
  const good = join(base.dir, 'pg.password');
  writeFileSync(good, 'not-used-by-trust-auth\n', { mode: 0o600 });
  chmodSync(good, 0o600);
  const link = join(base.dir, 'pg.link');
  symlinkSync(good, link);
  const loose = join(base.dir, 'pg.loose');
  writeFileSync(loose, 'x\n', { mode: 0o644 });
  chmodSync(loose, 0o644);
  const foreign = join(base.dir, 'pg.foreign');
  writeFileSync(foreign, 'x\n', { mode: 0o600 });
  chownSync(foreign, 65534, 65534);
  for (const f of [link, loose, foreign]) {
    const r = tumblerd(pgWorld(url, `password_file = "${f}"`), ['migrate']);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(errorCode(r), 'STORE_PASSWORD_FILE', f);
  }
  const r = tumblerd(pgWorld(url, `password_file = "${good}"`), ['migrate']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /postgres .*schema version 0 → 1/);
  assert.doesNotMatch(r.stdout + r.stderr, /not-used-by-trust-auth/);
});

test('postgres: admin commands end to end (user add, disable, list, audit with the gateway); an unreachable server fails cleanly', { skip: !havePostgres && 'needs root and PostgreSQL 15' }, () => {
  const url = cluster!.createDatabase();
  const w = pgWorld(url);
  const pw = passwordFile(w);
  let r = tumblerd(w, ['user', 'add', 'carol', '--services', 'ssh', '--password-file', pw, '--out', join(w.dir, 'carol.bundle')]);
  assert.equal(r.status, 0, r.stderr);
  r = tumblerd(w, ['user', 'disable', 'carol']);
  assert.equal(r.status, 0, r.stderr);
  r = tumblerd(w, ['user', 'list', '--json']);
  assert.deepEqual((JSON.parse(r.stdout) as Array<{ name: string; enabled: boolean }>).map((u) => [u.name, u.enabled]), [['carol', false]]);
  r = tumblerd(w, ['audit', '--json']);
  assert.deepEqual((JSON.parse(r.stdout) as Array<{ event: string; gateway: string }>).map((a) => [a.event, a.gateway]),
    [['admin.user.add', 'gw-a'], ['admin.user.disable', 'gw-a']]);
  const dead = pgWorld(`postgresql://postgres@/nope?host=${encodeURIComponent(join(w.dir, 'no-such-dir'))}`);
  r = tumblerd(dead, ['user', 'list']);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(errorCode(r), 'STORE_UNAVAILABLE');
});

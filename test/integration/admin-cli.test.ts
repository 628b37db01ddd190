/**
 * The admin CLI end to end, as a subprocess against a temp config and database (root, worker user
 * tmbtest): enrollment bundles, users, devices, audit, error codes and exit statuses, database
 * ownership for the unprivileged worker, doctor. No firewall here (see admin-grants-netns.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { bundleCheckMatches, decodeBundle, type Bundle } from '../../shared/protocol/bundle.js';
import { deriveDeviceKey } from '../../shared/protocol/kdf.js';
import { sequenceKey } from '../../shared/protocol/sequence.js';
import { ensureWorkerUser, errorCode, makeWorld, REPO, tumblerd, tumblerdAsync, type CliResult, type TestWorld } from './admin-cli.helpers.js';

const PASSWORD = 'correct horse battery staple';
let w: TestWorld;
let worker: { uid: number; gid: number };
let pwFile = '';
const outputs: CliResult[] = [];

function run(...args: string[]): CliResult {
  const r = tumblerd(w, args);
  outputs.push(r);
  return r;
}

function ok(...args: string[]): CliResult {
  const r = run(...args);
  assert.equal(r.status, 0, `tumblerd ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

function json<T>(...args: string[]): T {
  return JSON.parse(ok(...args).stdout) as T;
}

function dbBytes(): Buffer {
  return Buffer.concat([w.database, `${w.database}-wal`].filter(existsSync).map((f) => readFileSync(f)));
}

function sequenceState(b: Bundle): string | undefined {
  const db = new Database(w.database, { readonly: true });
  try {
    return (db.prepare('SELECT state FROM sequences WHERE seq_key = ? ORDER BY id DESC').pluck().get(sequenceKey(b.sequence)) as string | undefined);
  } finally {
    db.close();
  }
}

before(() => {
  worker = ensureWorkerUser();
  w = makeWorld('tmb-admin-cli-');
  pwFile = join(w.dir, 'password');
  writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
});

after(() => {
  rmSync(w.dir, { recursive: true, force: true });
});

test('user add creates the database for the worker user and prints a valid bundle; the db holds the key, not the password', async () => {
  const r = ok('user', 'add', 'alice', '--password-file', pwFile);
  // 1. A new database: directory 0700 and file 0600, both the worker's.
  const dir = statSync(join(w.dir, 'state'));
  assert.equal(dir.mode & 0o777, 0o700);
  assert.equal(dir.uid, worker.uid);
  const file = statSync(w.database);
  assert.equal(file.mode & 0o777, 0o600);
  assert.equal(file.uid, worker.uid);
  // 2. stdout is the bundle and nothing else.
  const b = decodeBundle(r.stdout);
  assert.equal(r.stdout.trim().split('\n').length, 1);
  assert.deepEqual(b.gateways, [['192.0.2.1', '2001:db8::1']]); // the server's addresses: one gateway
  assert.deepEqual([b.user, b.device], ['alice', 'default']);
  assert.deepEqual(b.services, { ssh: 1, db: 2 });
  // 3. The derived key is stored, the password is not; the bundle's check matches the password.
  const key = await deriveDeviceKey(PASSWORD, b.kdf);
  assert.equal(bundleCheckMatches(key, b), true);
  const bytes = dbBytes();
  assert.ok(bytes.includes(key), 'device key stored');
  assert.ok(!bytes.includes(Buffer.from(PASSWORD)), 'password never stored');
  assert.equal(sequenceState(b), 'live');
});

test('--out writes the bundle to a new 0600 file and never overwrites; --server lists one configured address', () => {
  const out = join(w.dir, 'bob.bundle');
  const r = ok('user', 'add', 'bob', '--password-file', pwFile, '--services', 'ssh', '--device', 'laptop', '--out', out, '--server', '2001:db8::1');
  assert.equal(r.stdout, '');
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const b = decodeBundle(readFileSync(out, 'utf8'));
  assert.deepEqual([b.user, b.device, b.gateways], ['bob', 'laptop', [['2001:db8::1']]]);
  assert.deepEqual(b.services, { ssh: 1 });
  const again = run('device', 'add', 'bob', 'phone', '--password-file', pwFile, '--out', out);
  assert.equal(again.status, 3);
  assert.equal(errorCode(again), 'ADMIN_OUT_EXISTS');
  const badServer = run('device', 'add', 'bob', 'phone', '--password-file', pwFile, '--server', '198.51.100.1');
  assert.equal(badServer.status, 2);
  assert.equal(errorCode(badServer), 'ADMIN_BAD_ADDRESS');
  assert.equal(json<unknown[]>('device', 'list', 'bob', '--json').length, 1, 'nothing added by the failed commands');
});

test('by default (and with --generate) a strong password is generated and shown once on stderr; the bundle works with it', async () => {
  for (const args of [['user', 'add', 'carol', '--services', 'ssh,db', '--device', 'phone'], ['device', 'reenroll', 'carol', 'phone', '--generate']]) {
    const r = ok(...args);
    const shown = /\n {4}([a-z2-9]{4}(?:-[a-z2-9]{4}){5})\n/.exec(r.stderr)?.[1];
    assert.ok(shown, 'generated password shown on stderr');
    assert.ok(!r.stdout.includes(shown));
    const b = decodeBundle(r.stdout);
    const key = await deriveDeviceKey(shown, b.kdf);
    assert.ok(dbBytes().includes(key));
    assert.equal(bundleCheckMatches(key, b), true);
  }
});

test('a password file others can read is refused (exit 2), nothing added', () => {
  const open = join(w.dir, 'open-password');
  writeFileSync(open, `${PASSWORD}\n`);
  chmodSync(open, 0o644);
  const r = run('user', 'add', 'frank', '--password-file', open);
  assert.equal(r.status, 2);
  assert.equal(errorCode(r), 'ADMIN_PASSWORD_FILE_MODE');
  assert.ok(!json<Array<{ name: string }>>('user', 'list', '--json').some((u) => u.name === 'frank'));
});

test('errors: unknown service exit 2, existing user exit 3, unknown user exit 3, weak password exit 2, no terminal exit 2', () => {
  const cases: Array<[string[], number, string]> = [
    [['user', 'add', 'dave', '--password-file', pwFile, '--services', 'ssh,telnet'], 2, 'ADMIN_UNKNOWN_SERVICE'],
    [['user', 'add', 'alice', '--password-file', pwFile], 3, 'STORE_EXISTS'],
    [['user', 'disable', 'nobody'], 3, 'STORE_NOT_FOUND'],
    [['user', 'revoke', 'nobody'], 3, 'STORE_NOT_FOUND'],
    [['device', 'add', 'nobody', 'x', '--password-file', pwFile], 3, 'STORE_NOT_FOUND'],
    [['device', 'reenroll', 'alice', 'nothing', '--password-file', pwFile], 3, 'STORE_NOT_FOUND'],
    [['user', 'add', 'Bad Name', '--password-file', pwFile], 2, 'STORE_BAD_NAME'],
    [['user', 'add', 'dave', '--ask-password'], 2, 'ADMIN_NO_PASSWORD'],
    [['grants', 'close', '999'], 3, 'STORE_NOT_FOUND'],
    [['audit', '--since', 'yesterday'], 2, 'USAGE'],
    [['stop', '--pid-file', join(w.dir, 'no.pid')], 3, 'ADMIN_NOT_RUNNING'],
  ];
  const weak = join(w.dir, 'weak');
  writeFileSync(weak, 'short\n', { mode: 0o600 });
  cases.push([['user', 'add', 'dave', '--password-file', weak], 2, 'KDF_WEAK_PASSWORD']);
  for (const [args, status, code] of cases) {
    const r = run(...args);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(errorCode(r), code, args.join(' '));
    assert.match(r.stderr, /^tumblerd: .+ \([A-Z_]+\)\n$/);
  }
  assert.ok(!json<Array<{ name: string }>>('user', 'list', '--json').some((u) => u.name === 'dave'));
  for (const args of [['user', 'list', '--bogus'], ['user'], ['grants', 'open', '198.51.100.7'], ['user', 'add', 'dave', '--ask-password', '--password-file', pwFile]]) {
    const r = run(...args);
    assert.equal(r.status, 2, args.join(' '));
    if (args.length > 1) assert.match(r.stderr.split('\n')[0]!, /^tumblerd: .+ \(USAGE\)$/);
  }
  const badConfig = tumblerd({ ...w, config: join(w.dir, 'missing.toml') }, ['user', 'list']);
  assert.equal(badConfig.status, 2);
  assert.match(errorCode(badConfig) ?? '', /^CONFIG_/);
});

test('user list --json; disable and enable', () => {
  type U = { name: string; enabled: boolean; services: string[]; devices: number };
  const byName = (): Record<string, U> => Object.fromEntries(json<U[]>('user', 'list', '--json').map((u) => [u.name, u]));
  const users = byName();
  assert.deepEqual(Object.keys(users).sort(), ['alice', 'bob', 'carol']);
  assert.deepEqual(users.bob!.services, ['ssh']);
  assert.equal(users.alice!.devices, 1);
  ok('user', 'disable', 'alice');
  assert.equal(byName().alice!.enabled, false);
  ok('user', 'enable', 'alice');
  assert.equal(byName().alice!.enabled, true);
  assert.match(ok('user', 'list').stdout, /^USER\s+ENABLED/);
});

test('device add, list, reenroll (new bundle, old sequence dead), disable, revoke', () => {
  type D = { user: string; device: string; enabled: boolean; activeSequences: number };
  const first = decodeBundle(ok('device', 'add', 'alice', 'tablet', '--password-file', pwFile).stdout);
  assert.deepEqual(json<D[]>('device', 'list', 'alice', '--json').map((d) => d.device), ['default', 'tablet']);
  const second = decodeBundle(ok('device', 'reenroll', 'alice', 'tablet', '--password-file', pwFile).stdout);
  assert.notDeepEqual(second.kdf.salt, first.kdf.salt);
  assert.notDeepEqual(sequenceKey(second.sequence), sequenceKey(first.sequence));
  assert.equal(sequenceState(first), 'retired');
  assert.equal(sequenceState(second), 'live');
  ok('device', 'disable', 'alice', 'tablet');
  assert.equal(json<D[]>('device', 'list', 'alice', '--json').find((d) => d.device === 'tablet')!.enabled, false);
  ok('device', 'revoke', 'alice', 'tablet');
  assert.deepEqual(json<D[]>('device', 'list', '--json').map((d) => `${d.user}/${d.device}`), ['alice/default', 'bob/laptop', 'carol/phone']);
  assert.equal(sequenceState(second), undefined);
  assert.equal(run('device', 'revoke', 'alice', 'tablet').status, 3);
});

test('user revoke deletes the user, its devices and sequences; others are untouched', () => {
  const carolDevices = json<unknown[]>('device', 'list', 'carol', '--json');
  assert.equal(carolDevices.length, 1);
  const r = ok('user', 'revoke', 'carol');
  assert.match(r.stderr, /revoked/);
  assert.deepEqual(json<Array<{ name: string }>>('user', 'list', '--json').map((u) => u.name), ['alice', 'bob']);
  assert.equal(run('device', 'list', 'carol').status, 3);
  assert.equal(json<unknown[]>('grants', 'list', '--all', '--json').length, 0);
});

test('audit --json shows the admin actions; --user, --since and --limit filter', () => {
  type A = { at: string; event: string; user: string | null; device: string | null; result: string };
  const rows = json<A[]>('audit', '--json');
  const events = rows.map((r) => `${r.event}:${r.user}`);
  for (const e of ['admin.user.add:alice', 'admin.user.add:bob', 'admin.user.disable:alice', 'admin.user.enable:alice',
    'admin.device.add:alice', 'admin.device.reenroll:alice', 'admin.device.revoke:alice', 'admin.user.revoke:carol']) {
    assert.ok(events.includes(e), `audit has ${e}`);
  }
  assert.ok(rows.every((r, i) => i === 0 || r.at >= rows[i - 1]!.at), 'oldest first');
  assert.ok(json<A[]>('audit', '--user', 'bob', '--json').every((r) => r.user === 'bob'));
  assert.equal(json<A[]>('audit', '--limit', '2', '--json').length, 2);
  assert.equal(json<A[]>('audit', '--since', '1h', '--json').length, rows.length);
  assert.equal(json<A[]>('audit', '--since', '2999-01-01', '--json').length, 0);
});

test('a root admin command leaves -wal/-shm owned by the worker, who can still write', () => {
  // Another root process holds the database open and its -wal/-shm are root's. (SQLite running
  // as root already gives new -wal/-shm the database file's owner; this is the case where that
  // did not happen, e.g. an older tool or a copy.)
  const holder = new Database(w.database);
  try {
    holder.prepare('SELECT count(*) FROM users').get();
    for (const f of [`${w.database}-wal`, `${w.database}-shm`]) chownSync(f, 0, 0);
    assert.equal(statSync(`${w.database}-wal`).uid, 0);
    assert.equal(statSync(`${w.database}-shm`).uid, 0);
    ok('user', 'list');
    for (const f of [w.database, `${w.database}-wal`, `${w.database}-shm`]) assert.equal(statSync(f).uid, worker.uid, f);
    const write = spawnSync('setpriv', [`--reuid=${worker.uid}`, `--regid=${worker.gid}`, '--init-groups', '--', process.execPath, '-e',
      `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(w.database)}); db.prepare("INSERT INTO audit (at, event, result) VALUES (1, 'worker.write', 'ok')").run(); db.close();`],
    { cwd: REPO, encoding: 'utf8' });
    assert.equal(write.status, 0, write.stderr);
  } finally {
    holder.close();
  }
});

test('migrate reports the schema version', () => {
  assert.match(ok('migrate').stdout, /schema version \d+, up to date/);
  const fresh = makeWorld('tmb-admin-cli-mig-');
  try {
    const r = tumblerd(fresh, ['migrate']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /schema version 0 → \d+/);
    assert.equal(statSync(fresh.database).uid, worker.uid);
  } finally {
    rmSync(fresh.dir, { recursive: true, force: true });
  }
});

test('doctor --json lists its checks and catches a database others can read', () => {
  type Doc = { ok: boolean; checks: Array<{ name: string; status: string; detail: string }> };
  const run1 = tumblerd(w, ['doctor', '--json']);
  const d1 = JSON.parse(run1.stdout) as Doc;
  const names = d1.checks.map((c) => c.name);
  for (const n of ['root', 'config', 'nft', 'libpcap', 'interface:lo', 'worker-user', 'database-dir', 'database-file', 'clock']) {
    assert.ok(names.includes(n), `doctor checks ${n}`);
  }
  assert.equal(run1.status, d1.ok ? 0 : 1);
  assert.equal(d1.checks.find((c) => c.name === 'database-file')!.status, 'ok');
  assert.equal(d1.checks.find((c) => c.name === 'worker-user')!.status, 'ok');
  chmodSync(w.database, 0o644);
  try {
    const run2 = tumblerd(w, ['doctor', '--json']);
    const d2 = JSON.parse(run2.stdout) as Doc;
    assert.equal(d2.checks.find((c) => c.name === 'database-file')!.status, 'fail');
    assert.equal(d2.ok, false);
    assert.equal(run2.status, 1);
  } finally {
    chmodSync(w.database, 0o600);
  }
});

test('every command has --help', async () => {
  const commands = [['user', 'add'], ['user', 'list'], ['user', 'revoke'], ['device', 'add'], ['device', 'reenroll'], ['device', 'list'],
    ['device', 'revoke'], ['grants', 'list'], ['grants', 'open'], ['grants', 'close'], ['audit'], ['doctor'], ['stop'], ['migrate']];
  const results = await Promise.all(commands.map((c) => tumblerdAsync(w, [...c, '--help'])));
  commands.forEach((c, i) => {
    assert.equal(results[i]!.status, 0, c.join(' '));
    assert.match(results[i]!.stdout, new RegExp(`Usage: tumblerd ${c.join(' ')}`));
  });
});

test('no command output ever carried the password or a key', () => {
  for (const r of outputs) {
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD));
  }
});

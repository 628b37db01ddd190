/**
 * Break-glass and grant closing through the real nftables backend, inside a fresh network
 * namespace (its own `inet tumbler` table): `grants open` puts a kernel map element with a
 * timeout in place (installing the table when missing), `grants close` and `device revoke
 * --close-grants` take it out again and mark the grant closed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ensureWorkerUser, errorCode, makeWorld, tumblerd, type CliResult, type TestWorld } from './admin-cli.helpers.js';

const NS = `tmb-admgr-${process.pid}`;
let w: TestWorld;

function cli(...args: string[]): CliResult {
  return tumblerd(w, args, { netns: NS });
}

function nftMap(map: 'grants4' | 'grants6'): string {
  const r = spawnSync('ip', ['netns', 'exec', NS, 'nft', 'list', 'map', 'inet', 'tumbler', map], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

type G = { id: number; address: string; port: number; service: string; state: string; user: string | null; device: string | null };

before(() => {
  ensureWorkerUser();
  w = makeWorld('tmb-admin-grants-');
  const r = spawnSync('ip', ['netns', 'add', NS], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  spawnSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
});

after(() => {
  spawnSync('ip', ['netns', 'del', NS]);
  rmSync(w.dir, { recursive: true, force: true });
});

test('grants open installs the table when missing and opens a kernel element with a timeout; audited, listed', () => {
  const r = cli('grants', 'open', '198.51.100.7', 'ssh', '--ttl', '120', '--json');
  assert.equal(r.status, 0, r.stderr);
  const g = JSON.parse(r.stdout) as { id: number; port: number; address: string; ttlSec: number };
  assert.ok(g.port >= 50000 && g.port <= 50999);
  assert.equal(g.ttlSec, 120);
  const map = nftMap('grants4');
  assert.match(map, new RegExp(`198\\.51\\.100\\.7 \\. ${g.port} timeout 2m expires \\S+ comment "ssh" : 192\\.0\\.2\\.1 \\. 22`));
  const listed = JSON.parse(cli('grants', 'list', '--json').stdout) as G[];
  assert.deepEqual(listed.map((x) => [x.id, x.address, x.port, x.service, x.state, x.device]), [[g.id, '198.51.100.7', g.port, 'ssh', 'open', null]]);
  const audit = JSON.parse(cli('audit', '--json').stdout) as Array<{ event: string; address: string; port: number; service: string }>;
  assert.ok(audit.some((a) => a.event === 'admin.grant.open' && a.address === '198.51.100.7' && a.port === g.port && a.service === 'ssh'));
});

test('IPv6 break-glass uses grants6; a TTL above max, an unknown service or a family without target are refused', () => {
  const r = cli('grants', 'open', '2001:db8::77', 'ssh');
  assert.equal(r.status, 0, r.stderr);
  const port = Number(/on port (\d+)/.exec(r.stdout)?.[1]);
  assert.match(nftMap('grants6'), new RegExp(`2001:db8::77 \\. ${port} timeout 30s`));
  for (const [args, code] of [
    [['grants', 'open', '198.51.100.8', 'ssh', '--ttl', '301'], 'ADMIN_BAD_TTL'],
    [['grants', 'open', '198.51.100.8', 'telnet'], 'ADMIN_UNKNOWN_SERVICE'],
    [['grants', 'open', '2001:db8::8', 'db'], 'ADMIN_BAD_ADDRESS'],
  ] as const) {
    const bad = cli(...args);
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(errorCode(bad), code);
  }
});

test('grants close removes the element and marks the grant closed', () => {
  const open = (JSON.parse(cli('grants', 'list', '--json').stdout) as G[]).find((g) => g.address === '198.51.100.7')!;
  const r = cli('grants', 'close', String(open.id));
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(nftMap('grants4'), /198\.51\.100\.7/);
  const all = JSON.parse(cli('grants', 'list', '--all', '--json').stdout) as G[];
  assert.match(all.find((g) => g.id === open.id)!.state, /^closed/);
  assert.ok(!(JSON.parse(cli('grants', 'list', '--json').stdout) as G[]).some((g) => g.id === open.id));
});

test('device revoke --close-grants closes that device\'s live grants in the kernel', () => {
  const pw = join(w.dir, 'pw');
  writeFileSync(pw, 'correct horse battery staple\n', { mode: 0o600 });
  assert.equal(cli('user', 'add', 'erin', '--password-file', pw, '--device', 'laptop').status, 0);
  const opened = JSON.parse(cli('grants', 'open', '203.0.113.9', 'ssh', '--json').stdout) as { id: number; port: number };
  // Make it look like a grant the daemon gave erin's laptop (the knock path is tested elsewhere).
  const db = new Database(w.database);
  try {
    const deviceId = db.prepare("SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id WHERE u.name = 'erin'").pluck().get();
    db.prepare("UPDATE grants SET device_id = ?, user_name = 'erin', device_name = 'laptop' WHERE id = ?").run(deviceId, opened.id);
  } finally {
    db.close();
  }
  assert.match(nftMap('grants4'), /203\.0\.113\.9/);
  const r = cli('device', 'revoke', 'erin', 'laptop', '--close-grants');
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(nftMap('grants4'), /203\.0\.113\.9/);
  const g = (JSON.parse(cli('grants', 'list', '--all', '--json').stdout) as G[]).find((x) => x.id === opened.id)!;
  assert.match(g.state, /^closed/);
  assert.equal(g.user, 'erin');
});

test('doctor sees our table and warns about another table whose input chain drops DNAT\'d traffic', () => {
  type Doc = { checks: Array<{ name: string; status: string; detail: string; hint?: string }> };
  const doctor = (): Doc => JSON.parse(cli('doctor', '--json').stdout) as Doc;
  const before = doctor();
  assert.equal(before.checks.find((c) => c.name === 'firewall-table')!.status, 'ok');
  assert.deepEqual(before.checks.filter((c) => c.name === 'coexistence').map((c) => c.status), ['ok']);
  const rules = join(w.dir, 'filter.nft');
  writeFileSync(rules, 'table inet filter {\n  chain input { type filter hook input priority 0; policy drop;\n    ct state established,related accept\n  }\n}\n');
  const load = spawnSync('ip', ['netns', 'exec', NS, 'nft', '-f', rules], { encoding: 'utf8' });
  assert.equal(load.status, 0, load.stderr);
  const risky = doctor().checks.filter((c) => c.name === 'coexistence');
  assert.equal(risky.length, 1);
  assert.equal(risky[0]!.status, 'warn');
  assert.match(risky[0]!.hint ?? '', /nft insert rule inet filter input ct status dnat accept/);
  const fix = spawnSync('ip', ['netns', 'exec', NS, 'nft', 'insert', 'rule', 'inet', 'filter', 'input', 'ct', 'status', 'dnat', 'accept'], { encoding: 'utf8' });
  assert.equal(fix.status, 0, fix.stderr);
  assert.deepEqual(doctor().checks.filter((c) => c.name === 'coexistence').map((c) => c.status), ['ok']);
});

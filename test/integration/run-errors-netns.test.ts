/**
 * `tumblerd run` refuses to start, with exit 2 and a stable code, on what no restart can fix: an
 * unreadable or invalid config (unknown key with file:line, overlapping ranges), a database path
 * that cannot be created, a database file that is not one, a worker user that does not exist.
 * The daemon runs for real, as root, inside a network namespace made here (its nftables table and
 * captures stay inside it); the last cases go through the worker, whose exit 2 ends the monitor.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isRoot, NetnsLab } from '../helpers/netns.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const WORKER = 'tumbler';

function config(o: { database: string; user?: string; extra?: string; grantPorts?: string }): string {
  return `[server]
interfaces = ["lo"]
addresses = ["192.0.2.1"]
user = "${o.user ?? WORKER}"
database = "${o.database}"
${o.extra ?? ''}
[knock]
ports = "40000-40999"

[grant]
ports = "${o.grantPorts ?? '50000-50999'}"

[services.ssh]
id = 1
target = "192.0.2.1:22"
`;
}

describe('tumblerd run: start-up errors exit 2 (root, network namespace)', { skip: !isRoot && 'needs root' }, () => {
  let lab: NetnsLab;
  let ns: string;
  let dir: string;
  before(() => {
    lab = new NetnsLab('runerr');
    ns = lab.addNamespace('srv');
    lab.run(ns, ['ip', 'addr', 'add', '192.0.2.1/32', 'dev', 'lo']);
    dir = mkdtempSync(join(tmpdir(), 'tumbler-runerr-'));
    chmodSync(dir, 0o755);
  });
  after(() => {
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (name: string, text: string | null) => {
    const file = join(dir, `${name}.toml`);
    if (text !== null) writeFileSync(file, text, { mode: 0o644 });
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, join(REPO, 'dist/server/main.js'), '--config', file, 'run', '--pid-file', join(dir, `${name}.pid`)],
      { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, out: `${r.stdout}${r.stderr}`, file };
  };

  test('missing config file: CONFIG_UNREADABLE', () => {
    const r = run('absent', null);
    assert.equal(r.code, 2);
    assert.match(r.out, /\(CONFIG_UNREADABLE\)/);
  });

  test('unknown key: CONFIG_UNKNOWN_KEY with file:line', () => {
    const r = run('unknown', config({ database: join(dir, 'db1', 'tumbler.db'), extra: 'colour = "blue"\n' }));
    assert.equal(r.code, 2);
    assert.match(r.out, /\(CONFIG_UNKNOWN_KEY\)/);
    assert.ok(r.out.includes(`${r.file}:6`), r.out);
  });

  test('grant range overlapping the knock range: CONFIG_OVERLAP', () => {
    const r = run('overlap', config({ database: join(dir, 'db2', 'tumbler.db'), grantPorts: '40500-41500' }));
    assert.equal(r.code, 2);
    assert.match(r.out, /\(CONFIG_OVERLAP\)/);
  });

  test('database directory that cannot be created: STORE_OPEN', () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'not a directory');
    const r = run('dbdir', config({ database: join(blocker, 'state', 'tumbler.db') }));
    assert.equal(r.code, 2);
    assert.match(r.out, /\(STORE_OPEN\)/);
  });

  test('worker user that does not exist: PRIVSEP_USER', () => {
    const r = run('nouser', config({ database: join(dir, 'db3', 'tumbler.db'), user: 'no-such-tmb-user' }));
    assert.equal(r.code, 2);
    assert.match(r.out, /\(PRIVSEP_USER\)/);
  });

  test('a database file that is not SQLite: the worker exits 2, the monitor stops with 2 instead of restarting', () => {
    const state = join(dir, 'db4');
    spawnSync('mkdir', ['-p', state]);
    const db = join(state, 'tumbler.db');
    writeFileSync(db, Buffer.alloc(4096, 0x5a), { mode: 0o600 });
    const id = (flag: string) => Number(spawnSync('id', [flag, WORKER], { encoding: 'utf8' }).stdout.trim());
    chownSync(state, id('-u'), id('-g'));
    chownSync(db, id('-u'), id('-g'));
    const r = run('garbage', config({ database: db }));
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /"event":"worker.started"/); // it got as far as the worker
    assert.match(r.out, /\(STORE_OPEN\)/);
    assert.equal((r.out.match(/"event":"worker.started"/g) ?? []).length, 1); // not restarted
  });
});

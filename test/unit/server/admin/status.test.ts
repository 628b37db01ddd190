/**
 * `tumblerd status` from published documents (server/admin/status-report.ts, status-text.ts): not
 * running (exit 3), running with both documents, and a worker document that is hostile (a link,
 * another owner, an extra field), from an earlier worker, or stale. Root (chown to the worker account).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findAccount } from '../../../../server/account.js';
import { readStatus, statusJson } from '../../../../server/admin/status-report.js';
import { statusText } from '../../../../server/admin/status-text.js';
import { prepareWorkerStateDir } from '../../../../server/monitor/state-dir.js';
import { statePaths, writeStateFile } from '../../../../server/state/file.js';
import { monitorDoc, T0, workerDoc } from '../metrics/fixtures.js';
import { codeOf } from '../../../helpers/error-code.js';

const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const isRoot = process.getuid?.() === 0;

describe('tumblerd status', { skip: !isRoot && 'needs root (documents owned by the worker account)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmb-status-'));
  const pidFile = join(dir, 'tumblerd.pid');
  const paths = statePaths(pidFile);
  const worker = findAccount('tumbler')!;
  let daemon: ChildProcess;
  let now = 0;
  const code = (fn: () => unknown): string => codeOf(fn, 'OK');
  const cli = (args: string[]) => spawnSync(process.execPath, [join(REPO, 'dist/server/main.js'), 'status', '--pid-file', pidFile, ...args], { encoding: 'utf8', timeout: 30_000 });
  const publish = (o: { worker?: Partial<ReturnType<typeof workerDoc>>; monitor?: Partial<ReturnType<typeof monitorDoc>>; owner?: number } = {}) => {
    now = Date.now();
    writeStateFile(paths.monitor, JSON.stringify(monitorDoc({ pid: daemon.pid!, publishedAtMs: now, startedAtMs: now - 3_723_000, ...o.monitor })));
    writeStateFile(paths.worker, JSON.stringify(workerDoc({ publishedAtMs: now, ...o.worker })));
    chownSync(paths.worker, o.owner ?? worker.uid, worker.gid);
  };

  before(() => {
    chmodSync(dir, 0o755);
    // A process whose command line names tumblerd, standing in for the daemon's monitor.
    daemon = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'tumblerd-status-test'], { stdio: 'ignore' });
    prepareWorkerStateDir(paths.workerDir, worker);
  });
  after(() => {
    daemon.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('not running: no pid file, or a stale one, is ADMIN_NOT_RUNNING and exit 3', () => {
    assert.equal(code(() => readStatus(pidFile)), 'ADMIN_NOT_RUNNING');
    const r = cli([]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /not running/);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(pidFile, `${dead}\n`);
    assert.equal(code(() => readStatus(pidFile)), 'ADMIN_NOT_RUNNING');
    assert.equal(cli(['--json']).status, 3);
  });

  test('running but nothing published (starting) is ADMIN_STATUS_UNAVAILABLE, exit 1', () => {
    writeFileSync(pidFile, `${daemon.pid}\n`);
    assert.equal(code(() => readStatus(pidFile)), 'ADMIN_STATUS_UNAVAILABLE');
    assert.equal(cli([]).status, 1);
    publish({ monitor: { pid: 1 } }); // a document of another process
    assert.equal(code(() => readStatus(pidFile)), 'ADMIN_STATUS_UNAVAILABLE');
  });

  test('running: one screen and --json from both documents', () => {
    writeFileSync(pidFile, `${daemon.pid}\n`);
    publish();
    const j = statusJson(readStatus(pidFile, now + 500)) as Record<string, Record<string, unknown>>;
    assert.equal(j.running, true);
    assert.deepEqual(j.worker, { pid: 200, starts: 2, restarts: 1, state: 'ok', startedAt: new Date(T0 - 30_000).toISOString(), publishedAt: new Date(now).toISOString(), stateAgeSeconds: 0.5 });
    assert.deepEqual(j.firewall, { backend: 'nftables', intact: true, repairs: 1, repairFailures: 0, drift: { table: 1 } });
    assert.deepEqual(j.grants, { open: 1, byService: { ssh: 1, web: 0 } });
    assert.deepEqual(j.knocks, { lastMinute: { knocks: 3, grants: 1, rejections: 1, seconds: 30 }, lastHour: { knocks: 3, grants: 1, rejections: 1, seconds: 30 } });
    assert.deepEqual(j.store, { backend: 'sqlite', location: '/var/lib/tumbler/tumbler.db', healthy: true });
    assert.equal((j.incidents as { total: number }).total, 1);
    const r = cli([]);
    assert.equal(r.status, 0, r.stderr);
    for (const want of [/running since .* \(up 1h 2m\), monitor pid \d+/, /worker: +pid 200, started .*, 1 restart \(2 starts\)/, /firewall: +nftables, table intact/,
      /grants: +1 open \(ssh 1\)/, /last minute: 3 knocks, 1 grant, 1 rejection/, /incidents: +1 .*IPC_BAD_SHAPE/, /store: +sqlite \/var\/lib\/tumbler\/tumbler\.db: healthy/]) {
      assert.match(r.stdout, want);
    }
    const js = cli(['--json']);
    assert.equal(js.status, 0);
    assert.equal((JSON.parse(js.stdout) as { worker: { pid: number } }).worker.pid, 200);
  });

  test('a failing store, a damaged table and a worker under a flood are said plainly', () => {
    writeFileSync(pidFile, `${daemon.pid}\n`);
    publish({ worker: { publishedAtMs: Date.now() - 12_000, store: { backend: 'sqlite', healthy: false, failingSinceMs: 1_800_000_000_000, lastFailure: 'STORE_UNAVAILABLE' } },
      monitor: { firewall: { ...monitorDoc().firewall, intact: false } } });
    const text = statusText(readStatus(pidFile));
    assert.match(text, /table DAMAGED/);
    assert.match(text, /FAILING since 2027-01-15T08:00:00Z \(STORE_UNAVAILABLE\)/);
    assert.match(text, /its state is 1\ds old/);
    assert.equal(readStatus(pidFile).worker.state, 'stale');
  });

  test('the worker\'s document is untrusted: a link, another owner or an extra field is unusable, never shown', () => {
    writeFileSync(pidFile, `${daemon.pid}\n`);
    publish({ owner: 0 });
    assert.deepEqual(readStatus(pidFile).worker, { state: 'unusable', code: 'STATE_UNSAFE' });
    unlinkSync(paths.worker);
    symlinkSync(paths.monitor, paths.worker);
    assert.deepEqual(readStatus(pidFile).worker, { state: 'unusable', code: 'STATE_UNSAFE' });
    unlinkSync(paths.worker);
    publish();
    writeStateFile(paths.worker, JSON.stringify({ ...workerDoc({ publishedAtMs: now }), note: '\u001b[2J' }));
    chownSync(paths.worker, worker.uid, worker.gid);
    const r = readStatus(pidFile);
    assert.deepEqual(r.worker, { state: 'unusable', code: 'STATE_INVALID' });
    const text = statusText(r);
    assert.match(text, /state file is unusable \(STATE_INVALID\)/);
    assert.match(text, /knocks: +unknown/);
    publish({ worker: { pid: 201 } });
    assert.deepEqual(readStatus(pidFile).worker, { state: 'other-worker' });
  });

  test('strings from the documents are escaped on the terminal', () => {
    writeFileSync(pidFile, `${daemon.pid}\n`);
    publish({ monitor: { store: { backend: 'sqlite', location: '/var/lib/t\u001b[2J.db' } } });
    const text = statusText(readStatus(pidFile));
    assert.ok(!text.includes('\u001b'));
    assert.match(text, /\/var\/lib\/t\\x1b\[2J\.db/);
  });
});

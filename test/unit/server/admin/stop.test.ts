import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, readPidFile, stopDaemon } from '../../../../server/admin/stop.js';

let dir = '';
const children: ChildProcess[] = [];
const pidFile = (text: string): string => { const p = join(dir, `pid-${Math.random()}`); writeFileSync(p, text); return p; };

/** A stand-in daemon whose command line names tumblerd; `ignoreTerm` makes it outlive SIGTERM. */
function fakeDaemon(ignoreTerm: boolean): ChildProcess {
  const code = ignoreTerm ? "process.on('SIGTERM',()=>{});setInterval(()=>{},1000)" : "process.on('SIGTERM',()=>process.exit(0));setInterval(()=>{},1000)";
  const c = spawn(process.execPath, ['-e', code, 'tumblerd-fake'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

before(() => { dir = mkdtempSync(join(tmpdir(), 'tmb-admin-stop-')); });
after(() => {
  for (const c of children) if (c.pid && isAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('pid files: missing → not running; garbage → refused', () => {
  assert.throws(() => readPidFile(join(dir, 'missing')), { code: 'ADMIN_NOT_RUNNING' });
  assert.throws(() => readPidFile(pidFile('abc\n')), { code: 'ADMIN_PID_FILE' });
  assert.throws(() => readPidFile(pidFile('1\n')), { code: 'ADMIN_PID_FILE' });
  assert.equal(readPidFile(pidFile(' 4242\n')), 4242);
});

test('stop sends SIGTERM and waits until the daemon has exited', async () => {
  const c = fakeDaemon(false);
  await new Promise((r) => setTimeout(r, 200));
  const r = await stopDaemon(pidFile(`${c.pid}\n`), 5_000);
  assert.deepEqual(r, { pid: c.pid, stopped: true });
  assert.equal(isAlive(c.pid!), false);
});

test('a daemon that ignores SIGTERM makes stop time out; a process that is not tumblerd is never signalled', async () => {
  const c = fakeDaemon(true);
  await new Promise((r) => setTimeout(r, 200));
  await assert.rejects(stopDaemon(pidFile(`${c.pid}`), 300), { code: 'ADMIN_STOP_TIMEOUT' });
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(other);
  await assert.rejects(stopDaemon(pidFile(`${other.pid}`), 300), { code: 'ADMIN_PID_FILE' });
  assert.equal(isAlive(other.pid!), true);
});

/**
 * `tumblerd stop`: SIGTERM to the daemon whose pid is in the pid file, then wait (bounded) for it
 * to exit. Refuses a pid whose process is not a tumblerd (a stale pid file whose pid was reused).
 */
import { readFileSync } from 'node:fs';
import { TumblerError } from '../../shared/errors.js';

export const DEFAULT_PID_FILE = '/run/tumbler/tumblerd.pid';
const POLL_MS = 100;

export interface StopResult {
  readonly pid: number;
  readonly stopped: boolean;
}

export function readPidFile(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new TumblerError('ADMIN_NOT_RUNNING', `no pid file ${file}: tumblerd is not running`);
    throw new TumblerError('ADMIN_PID_FILE', `cannot read pid file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  const pid = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(pid) || pid < 2) throw new TumblerError('ADMIN_PID_FILE', `pid file ${file} does not hold a pid`);
  return pid;
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** True when /proc says the process runs tumblerd (its command line names it). */
export function looksLikeTumblerd(pid: number): boolean {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  return argv.some((a) => /tumblerd/.test(a) || /server\/main\.(js|ts)$/.test(a));
}

/** The pid of the tumblerd the pid file names: ADMIN_NOT_RUNNING when it is gone, ADMIN_PID_FILE when it is not tumblerd. */
export function runningDaemonPid(pidFile: string): number {
  const pid = readPidFile(pidFile);
  if (!isAlive(pid)) throw new TumblerError('ADMIN_NOT_RUNNING', `tumblerd is not running (pid ${pid} from ${pidFile} is gone; the pid file is stale)`);
  if (!looksLikeTumblerd(pid)) throw new TumblerError('ADMIN_PID_FILE', `pid ${pid} from ${pidFile} is not a tumblerd process`);
  return pid;
}

export async function stopDaemon(pidFile: string, timeoutMs: number, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): Promise<StopResult> {
  const pid = runningDaemonPid(pidFile);
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; waited < timeoutMs; waited += POLL_MS) {
    if (!isAlive(pid)) return { pid, stopped: true };
    await sleep(POLL_MS);
  }
  if (!isAlive(pid)) return { pid, stopped: true };
  throw new TumblerError('ADMIN_STOP_TIMEOUT', `tumblerd (pid ${pid}) did not exit within ${Math.round(timeoutMs / 1000)} s`);
}

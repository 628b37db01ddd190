/**
 * The worker's state directory (server/state/file.ts: `<pid file stem>.worker`), made by the
 * monitor as root before the worker starts: a real directory (never a link), owned by the worker
 * account, mode 0755 so root's `tumblerd status` and the exporter's account can read what the
 * worker writes there. Its parent is root's (the pid file's directory): the worker can change
 * what is inside, never the directory itself.
 */
import { chmodSync, lchownSync, lstatSync, mkdirSync } from 'node:fs';
import { TumblerError } from '../../shared/errors.js';
import type { AccountInfo } from '../account.js';

export function prepareWorkerStateDir(dir: string, worker: Pick<AccountInfo, 'uid' | 'gid'>): void {
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw stateDirError(dir, e);
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new TumblerError('STATE_UNSAFE', `${dir} exists and is not a directory (a link?); remove it`);
  try {
    lchownSync(dir, worker.uid, worker.gid);
    chmodSync(dir, 0o755); // lstat said a directory, in a directory only root writes
  } catch (e) {
    throw stateDirError(dir, e);
  }
}

function stateDirError(dir: string, e: unknown): TumblerError {
  return new TumblerError('STATE_DIR', `cannot prepare the worker's state directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
}

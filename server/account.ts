/**
 * The worker's account (uid, gid) through NSS (`getent passwd`): for the monitor (chown of the
 * state directory), the worker (its drop) and the admin commands (chown, doctor).
 */
import { spawnSync } from 'node:child_process';
import { TumblerError } from '../shared/errors.js';
import { ACCOUNT_NAME } from './config/limits.js';

export interface AccountInfo {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The account, or null when it does not exist (or the name is not a valid user name). */
export function findAccount(name: string): AccountInfo | null {
  if (!ACCOUNT_NAME.test(name)) return null;
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const f = r.stdout.trim().split(':');
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (f.length < 4 || !Number.isInteger(uid) || !Number.isInteger(gid)) return null;
  return { name, uid, gid };
}

/** The account the worker runs as: it must exist and must not be root. Throws PRIVSEP_USER. */
export function requireWorkerAccount(name: string): AccountInfo {
  const a = findAccount(name);
  if (!a) throw new TumblerError('PRIVSEP_USER', `worker user "${name}" does not exist (create it: useradd --system --no-create-home ${name})`);
  if (a.uid === 0) throw new TumblerError('PRIVSEP_USER', `worker user "${name}" is root; the worker must run unprivileged`);
  return a;
}

/**
 * The worker's account (uid, gid) through NSS (`getent passwd`), for chown and for doctor.
 * Returns null when the account does not exist.
 */
import { spawnSync } from 'node:child_process';

export interface AccountInfo {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export function findAccount(name: string): AccountInfo | null {
  if (!/^[a-z_][a-z0-9_.-]{0,31}$/.test(name)) return null;
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const f = r.stdout.trim().split(':');
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (f.length < 4 || !Number.isInteger(uid) || !Number.isInteger(gid)) return null;
  return { name, uid, gid };
}

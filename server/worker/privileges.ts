/**
 * Dropping privileges for good (setgroups, setgid, setuid) and proving it: the worker refuses to
 * read a packet unless uid != 0 and its effective and permitted capability sets are empty.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { TumblerError } from '../../shared/errors.js';

export interface Account {
  readonly uid: number;
  readonly gid: number;
}

/** Resolve a user name through NSS (getent), before the drop. */
export function lookupAccount(user: string): Account {
  if (!/^[a-z_][a-z0-9_.-]{0,31}$/.test(user)) throw new TumblerError('PRIVSEP_USER', `bad user name "${user}"`);
  const r = spawnSync('getent', ['passwd', user], { encoding: 'utf8' });
  const fields = r.status === 0 ? r.stdout.trim().split(':') : [];
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (fields.length < 4 || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new TumblerError('PRIVSEP_USER', `user "${user}" does not exist (create it: useradd --system --no-create-home ${user})`);
  }
  if (uid === 0) throw new TumblerError('PRIVSEP_USER', `user "${user}" is root; the worker must run unprivileged`);
  return { uid, gid };
}

/** Capability sets of this process from /proc/self/status, as hex strings. */
export function capabilitySets(status = readFileSync('/proc/self/status', 'utf8')): { eff: bigint; prm: bigint; uid: number[] } {
  const get = (k: string): string => status.match(new RegExp(`^${k}:\\s*(.+)$`, 'm'))?.[1]?.trim() ?? '';
  return { eff: BigInt('0x' + (get('CapEff') || '0')), prm: BigInt('0x' + (get('CapPrm') || '0')), uid: get('Uid').split(/\s+/).map(Number) };
}

export function dropPrivileges(account: Account): void {
  try {
    process.setgroups?.([]);
    process.setgid?.(account.gid);
    process.setuid?.(account.uid);
  } catch (e) {
    throw new TumblerError('PRIVSEP_DROP', `could not drop privileges: ${(e as Error).message}`);
  }
  assertUnprivileged();
}

/** Exit-worthy unless every uid is non-zero and no capability is effective or permitted. */
export function assertUnprivileged(): void {
  const c = capabilitySets();
  if (c.uid.length === 0 || c.uid.some((u) => u === 0) || c.eff !== 0n || c.prm !== 0n) {
    throw new TumblerError('PRIVSEP_STILL_PRIVILEGED', 'worker still holds privileges after the drop');
  }
}

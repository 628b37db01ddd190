/**
 * Dropping privileges for good (setgroups, setgid, setuid) and proving it: the worker refuses to
 * read a packet unless uid != 0 and its effective and permitted capability sets are empty.
 */
import { readFileSync } from 'node:fs';
import { TumblerError } from '../../shared/errors.js';

/** Capability sets of this process from /proc/self/status, as hex strings. */
export function capabilitySets(status = readFileSync('/proc/self/status', 'utf8')): { eff: bigint; prm: bigint; uid: number[] } {
  const get = (k: string): string => status.match(new RegExp(`^${k}:\\s*(.+)$`, 'm'))?.[1]?.trim() ?? '';
  return { eff: BigInt('0x' + (get('CapEff') || '0')), prm: BigInt('0x' + (get('CapPrm') || '0')), uid: get('Uid').split(/\s+/).map(Number) };
}

export function dropPrivileges(account: { uid: number; gid: number }): void {
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

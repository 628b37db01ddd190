/**
 * Dropping privileges for good and proving it. Before the drop the worker locks its capture
 * filters (SO_LOCK_FILTER: the BPF program that passes only knock SYNs can no longer be replaced
 * or removed, even by this process) and sets no_new_privs (no execve can ever grant privileges
 * again); then setgroups, setgid, setuid. It refuses to read a packet unless every uid is
 * non-zero, its effective and permitted capability sets are empty and NoNewPrivs is 1.
 */
import { readFileSync } from 'node:fs';
import { TumblerError } from '../../shared/errors.js';
import { lockPacketFilters, setNoNewPrivs } from '../../shared/native/index.js';

/** What /proc/self/status says about this process's privileges. */
export function capabilitySets(status = readFileSync('/proc/self/status', 'utf8')): { eff: bigint; prm: bigint; uid: number[]; noNewPrivs: boolean } {
  const get = (k: string): string => status.match(new RegExp(`^${k}:\\s*(.+)$`, 'm'))?.[1]?.trim() ?? '';
  return {
    eff: BigInt('0x' + (get('CapEff') || '0')),
    prm: BigInt('0x' + (get('CapPrm') || '0')),
    uid: get('Uid').split(/\s+/).map(Number),
    noNewPrivs: get('NoNewPrivs') === '1',
  };
}

/** Lock every capture socket's filter (at least `captures` of them) and set no_new_privs. */
export function hardenBeforeDrop(captures: number): void {
  let locked: number;
  try {
    locked = lockPacketFilters();
    setNoNewPrivs();
  } catch (e) {
    throw new TumblerError('PRIVSEP_HARDEN', `could not lock the capture filters or set no_new_privs: ${(e as Error).message}`);
  }
  if (locked < captures) throw new TumblerError('PRIVSEP_HARDEN', `locked ${locked} capture filters, expected ${captures}`);
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

/** Exit-worthy unless every uid is non-zero, no capability is effective or permitted, and no_new_privs is set. */
export function assertUnprivileged(status?: string): void {
  const c = capabilitySets(status);
  if (c.uid.length === 0 || c.uid.some((u) => u === 0) || c.eff !== 0n || c.prm !== 0n || !c.noNewPrivs) {
    throw new TumblerError('PRIVSEP_STILL_PRIVILEGED', 'worker still holds privileges after the drop');
  }
}

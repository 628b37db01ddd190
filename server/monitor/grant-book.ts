/**
 * The monitor's own record of the grants it opened, with their expiry (OpenSSH's monitor keeps its
 * own state and never trusts the child's view). It answers "is this grant open?" (a duplicate is
 * refused), bounds the grants (MAX_GRANTS, MONITOR_FULL), and is what a drift repair puts back
 * into the kernel, with each grant's remaining time, without asking the worker.
 *
 * An entry is reserved before its kernel element is written (so a repair running meanwhile
 * restores it too) and confirmed once the kernel has it; a failed open removes it again. A close
 * removes the entry before the kernel element. Expiry times are taken before the kernel call, so
 * an entry never outlives its element. Expired entries leave when room is needed and on prune().
 * It tallies, by service, the grants the kernel took (opened), those removed before their expiry
 * (closed: by the worker, a reconcile or another tool) and those that ran out (expired).
 */
import { MAX_GRANTS } from '../../shared/ipc/constants.js';
import type { GrantKey } from '../../shared/ipc/messages.js';
import type { Grant, KernelGrant } from './firewall/types.js';
import { NO_EXPIRY } from './firewall/types.js';
import { grantKeyString } from './firewall/values.js';
import { bump, type GrantTally } from './counters.js';
import { Refusal } from './verdict.js';

interface Entry {
  readonly grant: Omit<Grant, 'ttlSec'>;
  readonly expiresAtMs: number;
  confirmedAtMs: number | null;
}

const keyOf = (k: GrantKey): string => grantKeyString(k.family, k.address, k.port);

export class GrantBook {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly max = MAX_GRANTS,
    private readonly tally: GrantTally = { opened: {}, closed: {}, expired: {} },
  ) {}

  /** Entries held, expired or not. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether `k` is open and not expired at `now`. */
  isLive(k: GrantKey, now: number): boolean {
    const e = this.entries.get(keyOf(k));
    return e !== undefined && e.expiresAtMs > now;
  }

  /**
   * Record a grant about to be opened for `ttlSec` from `now`. Refusals: MONITOR_DUPLICATE (open
   * and not expired), MONITOR_FULL (MAX_GRANTS live grants).
   */
  reserve(g: Grant, now: number): void {
    const key = keyOf(g);
    const old = this.entries.get(key);
    if (old && old.expiresAtMs > now) throw new Refusal('MONITOR_DUPLICATE', 'grant is open');
    if (old) this.forget(key, old, now);
    if (!old && this.entries.size >= this.max) {
      this.prune(now);
      if (this.entries.size >= this.max) throw new Refusal('MONITOR_FULL', `${this.max} grants are open`);
    }
    const { family, address, port, service } = g;
    this.entries.set(key, { grant: { family, address, port, service }, expiresAtMs: now + g.ttlSec * 1000, confirmedAtMs: null });
  }

  /** The kernel holds the reserved grant now. */
  confirm(k: GrantKey, now: number): void {
    const e = this.entries.get(keyOf(k));
    if (e && e.confirmedAtMs === null) bump(this.tally.opened, e.grant.service);
    if (e) e.confirmedAtMs = now;
  }

  /** Forget a grant (closed, failed, or deleted by another tool). True when it was recorded. */
  remove(k: GrantKey, now = Date.now()): boolean {
    const key = keyOf(k);
    const e = this.entries.get(key);
    if (e) this.forget(key, e, now);
    return e !== undefined;
  }

  /** Keep only the grants in `keep` (the worker's reconcile list). */
  retain(keep: Iterable<GrantKey>, now = Date.now()): void {
    const wanted = new Set([...keep].map(keyOf));
    for (const [key, e] of this.entries) if (!wanted.has(key)) this.forget(key, e, now);
  }

  /**
   * Drop confirmed grants (confirmed before `listedAtMs`) that a kernel listing taken at
   * `listedAtMs` no longer holds: another tool closed them. The number dropped.
   */
  dropMissing(kernel: readonly GrantKey[], listedAtMs: number): number {
    const present = new Set(kernel.map(keyOf));
    let dropped = 0;
    for (const [key, e] of this.entries) {
      if (e.confirmedAtMs !== null && e.confirmedAtMs < listedAtMs && e.expiresAtMs > listedAtMs && !present.has(key)) {
        this.forget(key, e, listedAtMs);
        dropped++;
      }
    }
    return dropped;
  }

  /** Take over the grants of ours the kernel holds (at start): service known, with a timeout. */
  load(kernel: readonly KernelGrant[], now: number): void {
    for (const k of kernel) {
      if (k.service === null || k.expiresInSec === NO_EXPIRY || k.expiresInSec < 1) continue;
      if (this.entries.size >= this.max) return;
      const { family, address, port, service } = k;
      this.entries.set(keyOf(k), { grant: { family, address, port, service }, expiresAtMs: now + k.expiresInSec * 1000, confirmedAtMs: now });
    }
  }

  /** Grants with at least one whole second left at `now`, each with that time as its TTL. */
  live(now: number): Grant[] {
    const out: Grant[] = [];
    for (const e of this.entries.values()) {
      const ttlSec = Math.floor((e.expiresAtMs - now) / 1000);
      if (ttlSec >= 1) out.push({ ...e.grant, ttlSec });
    }
    return out;
  }

  /** Drop expired entries. */
  prune(now: number): void {
    for (const [key, e] of this.entries) if (e.expiresAtMs <= now) this.forget(key, e, now);
  }

  /** Grants the kernel holds and that have not expired at `now`, by service. */
  openByService(now: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.entries.values()) if (e.confirmedAtMs !== null && e.expiresAtMs > now) bump(out, e.grant.service);
    return out;
  }

  /** Delete an entry; a grant the kernel held is tallied as expired or closed (a failed open is neither). */
  private forget(key: string, e: Entry, now: number): void {
    this.entries.delete(key);
    if (e.confirmedAtMs === null) return;
    bump(e.expiresAtMs <= now ? this.tally.expired : this.tally.closed, e.grant.service);
  }
}

/**
 * Never fail open: the drift guard. Another tool that flushes the ruleset (`systemctl restart
 * nftables`, a firewalld reload, OpenWrt's fw4), deletes our table, a chain, a map, a rule, our
 * iptables chains, their jumps or our ipsets would leave the protected services reachable. The
 * guard notices — at once from `nft monitor` deletion events (firewall/events.ts), and by a
 * periodic check as the backstop (iptables-legacy and ipset changes have no events) — and puts
 * everything back: table, chains, rules (install()), and the grants that lived in a lost map or
 * set, each with its remaining time, from the monitor's own record (grant-book.ts), without asking
 * the worker. It logs one `firewall.drift` line per repair (what was missing) and counts each
 * piece by kind (counters.ts).
 *
 * Bounded: one check or repair at a time; events only mark work as wanted; checks are at least
 * CHECK_GAP_MS apart; repairs that follow each other closely back off (REPAIR_GAP_MS doubling up
 * to MAX_REPAIR_GAP_MS), so a tool that keeps deleting costs a few processes a second, not a busy
 * loop; drift lines are rate-limited (the suppressed count rides on the next one).
 *
 * A grant that another tool deletes from our map (an admin's close, `nft delete element`) is taken
 * as closed: the next sync drops it from the record, so no later repair brings it back. nftables
 * reports such deletions (a sync follows); for ipsets a periodic sync catches them.
 */
import { isTumblerError } from '../../shared/errors.js';
import { WindowLimiter } from '../window-limiter.js';
import type { Logger } from '../log.js';
import { bump, type MonitorCounters } from './counters.js';
import { describeDrift } from './firewall/drift.js';
import { NftEventSource } from './firewall/events.js';
import type { DriftItem, FirewallBackend } from './firewall/types.js';
import type { GrantBook } from './grant-book.js';

/** Timings of the guard (ms); tests may shorten them. */
/**
 * Install our rules, updated in place; when another tool altered them past updating (a map re-created
 * with other flags...), replace them whole. True when replaced: every live grant must be opened again.
 */
export async function installOrReplace(fw: FirewallBackend): Promise<boolean> {
  try {
    await fw.install();
    return false;
  } catch {
    await fw.install({ fresh: true });
    return true;
  }
}

export interface GuardTimings {
  /** Backstop check period while deletion events arrive. */
  readonly checkEveryMs: number;
  /** Backstop check period without an event source (no nft, iptables-legacy). */
  readonly checkEveryNoEventsMs: number;
  /** Book sync period without element events (iptables: ipset deletions are not reported). */
  readonly syncEveryMs: number;
  /** Least time between two syncs, however many grant deletions are reported. */
  readonly syncGapMs: number;
  /** Least time between two checks, however many events arrive. */
  readonly checkGapMs: number;
  /** First pause after a repair before the next one; doubles while drift keeps coming back. */
  readonly repairGapMs: number;
  readonly maxRepairGapMs: number;
  /** A repair this long after the previous one resets the back-off. */
  readonly calmMs: number;
}

export const GUARD_TIMINGS: GuardTimings = {
  checkEveryMs: 1_000,
  checkEveryNoEventsMs: 400,
  syncEveryMs: 5_000,
  syncGapMs: 500,
  checkGapMs: 50,
  repairGapMs: 50,
  maxRepairGapMs: 1_000,
  calmMs: 10_000,
};

/** Drift log lines per window (the rest are counted and reported on the next line). */
const DRIFT_LINES_PER_WINDOW = 5;
const DRIFT_WINDOW_MS = 10_000;

export interface GuardOptions {
  readonly firewall: FirewallBackend;
  readonly book: GrantBook;
  readonly counters: MonitorCounters;
  readonly log: Logger;
  /** Which backend the firewall is: nftables grants are watched through element deletion events. */
  readonly backend: 'nftables' | 'iptables';
  /** Our nft table's name (the events about it). */
  readonly table: string;
  /** argv prefix of the event source (tests: `ip netns exec NS`). */
  readonly commandPrefix?: readonly string[];
  /** Watch `nft monitor` (default true); false: the periodic check alone. */
  readonly events?: boolean;
  readonly timings?: Partial<GuardTimings>;
  readonly now?: () => number;
}

export class FirewallGuard {
  private readonly t: GuardTimings;
  private readonly now: () => number;
  private readonly events: NftEventSource | null;
  private readonly logLimiter = new WindowLimiter(DRIFT_LINES_PER_WINDOW, DRIFT_WINDOW_MS, 4);
  private suppressed = 0;
  private want = { check: false, sync: false };
  private working = false;
  private wake: NodeJS.Timeout | null = null;
  private wakeAt = 0;
  private ticker: NodeJS.Timeout | null = null;
  private stopped = false;
  /** No check before this time (gaps and repair back-off). */
  private notBefore = 0;
  private repairGap = 0;
  private lastRepairAt = -Infinity;
  private lastSyncAt = 0;
  private lastCheckAt = 0;
  private waiters: Array<() => void> = [];
  /** The check, repair or sync under way (stop() waits for it). */
  private current: Promise<void> = Promise.resolve();

  constructor(private readonly o: GuardOptions) {
    this.t = { ...GUARD_TIMINGS, ...o.timings };
    this.now = o.now ?? Date.now;
    this.events = o.events === false ? null : new NftEventSource({
      commandPrefix: o.commandPrefix,
      watched: { backend: o.backend, table: o.table },
      onEvent: (kind) => this.schedule(kind === 'grant' ? 'sync' : 'check'),
      onStart: () => this.schedule('check'),
    });
    this.repairGap = this.t.repairGapMs;
  }

  /** Start watching. The firewall must be installed already (its state is the baseline). */
  start(): void {
    this.events?.start();
    const tick = Math.min(this.t.checkEveryMs, this.t.checkEveryNoEventsMs, this.t.syncEveryMs);
    this.ticker = setInterval(() => this.onTick(), Math.max(10, Math.floor(tick / 2)));
    this.ticker.unref();
  }

  /** Stop watching; resolves once a check or repair under way has finished (it repairs nothing more). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    if (this.wake) clearTimeout(this.wake);
    await this.events?.stop();
    await this.current;
    this.release();
  }

  /** PID of the event source's child, if one runs. */
  get eventSourcePid(): number | undefined {
    return this.events?.pid;
  }

  /**
   * Check now and repair if needed; resolves once that check (and its repair) is done — also while
   * another tool keeps deleting, so a caller never waits for more than one round.
   */
  restoreNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.schedule('check');
    });
  }

  private onTick(): void {
    const now = this.now();
    const every = this.events?.live ? this.t.checkEveryMs : this.t.checkEveryNoEventsMs;
    if (now - this.lastCheckAt >= every) this.schedule('check');
    // Without element events (ipsets, or no nft monitor) closes by other tools are found by a sync.
    const elementEvents = this.o.backend === 'nftables' && this.events?.live === true;
    if (!elementEvents && this.o.book.size > 0 && now - this.lastSyncAt >= this.t.syncEveryMs) this.schedule('sync');
  }

  private schedule(what: 'check' | 'sync'): void {
    if (this.stopped) return;
    this.want[what] = true;
    if (this.working) return; // work() schedules what is left when it is done
    const at = this.want.check ? this.notBefore : Math.max(this.notBefore, this.lastSyncAt + this.t.syncGapMs);
    if (this.wake && this.wakeAt <= at) return;
    // Earlier than the wake-up set (a check wanted while a sync waits out its gap): move it.
    if (this.wake) clearTimeout(this.wake);
    this.wakeAt = at;
    this.wake = setTimeout(() => {
      this.wake = null;
      void this.work();
    }, Math.max(0, at - this.now()));
  }

  private work(): Promise<void> {
    if (this.working || this.stopped) return this.current;
    this.current = this.workOnce();
    return this.current;
  }

  private async workOnce(): Promise<void> {
    this.working = true;
    try {
      if (this.want.check) {
        this.want.check = false;
        const waiting = this.waiters;
        this.waiters = [];
        await this.checkAndRepair();
        for (const w of waiting) w();
      } else if (this.want.sync) {
        this.want.sync = false;
        await this.sync();
      }
    } finally {
      this.working = false;
      if (this.want.check || this.want.sync) this.schedule(this.want.check ? 'check' : 'sync');
    }
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Compare with the baseline; repair what drifted. */
  private async checkAndRepair(): Promise<void> {
    this.lastCheckAt = this.now();
    this.notBefore = this.lastCheckAt + this.t.checkGapMs;
    let drift: DriftItem[];
    try {
      drift = await this.o.firewall.inspect();
    } catch (e) {
      this.o.log.limited('error', 'firewall.check_failed', { code: isTumblerError(e) ? e.code : 'UNKNOWN' });
      return;
    }
    if (drift.length === 0 || this.stopped) return;
    this.o.counters.firewallIntact = false;
    await this.repair(drift);
  }

  /** Reinstall our rules and put back the live grants that were in a lost map or set. */
  private async repair(drift: readonly DriftItem[]): Promise<void> {
    const { firewall: fw, book, counters } = this.o;
    const started = this.now();
    // Back-off: repairs that follow each other closely (a tool that keeps deleting) space out.
    this.repairGap = started - this.lastRepairAt > this.t.calmMs ? this.t.repairGapMs : Math.min(this.repairGap * 2, this.t.maxRepairGapMs);
    this.lastRepairAt = started;
    this.notBefore = started + this.repairGap;
    try {
      const live = book.live(started);
      const lost = (await installOrReplace(fw)) ? live : live.filter((g) => fw.lostWith(drift, g));
      const outcomes = await fw.openMany(lost);
      const restored = outcomes.filter((x) => x === null).length;
      counters.repairs++;
      counters.grantsRestored += restored;
      for (const item of drift) bump(counters.drift, item.kind);
      counters.firewallIntact = true;
      this.logDrift(drift, restored, lost.length - restored);
    } catch (e) {
      counters.repairFailures++;
      this.o.log.limited('error', 'firewall.repair_failed', { code: isTumblerError(e) ? e.code : 'UNKNOWN', missing: describeDrift(drift) });
      this.want.check = true; // again, after the back-off
    }
  }

  /** Drop from the record the grants another tool deleted (only while our state is intact). */
  private async sync(): Promise<void> {
    const { firewall: fw, book, counters } = this.o;
    this.lastSyncAt = this.now();
    try {
      // Our table or sets gone between the listing and now would look like every grant closed:
      // a sync counts only when our state is intact before and after the listing.
      if ((await fw.inspect()).length > 0) {
        this.want.check = true;
        return;
      }
      const listedAt = this.now();
      const kernel = await fw.list();
      if ((await fw.inspect()).length > 0) {
        this.want.check = true;
        return;
      }
      counters.grantsClosedElsewhere += book.dropMissing(kernel, listedAt);
      book.prune(listedAt);
    } catch (e) {
      this.o.log.limited('warn', 'firewall.sync_failed', { code: isTumblerError(e) ? e.code : 'UNKNOWN' });
    }
  }

  private logDrift(drift: readonly DriftItem[], restored: number, notRestored: number): void {
    if (!this.logLimiter.hit('drift', this.now())) {
      this.suppressed++;
      return;
    }
    this.o.log.log('error', 'firewall.drift', {
      missing: describeDrift(drift), restored_grants: restored, grants_not_restored: notRestored || undefined,
      repairs_not_logged: this.suppressed || undefined, action: 'restored',
    });
    this.suppressed = 0;
  }
}

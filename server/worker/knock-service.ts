/**
 * The worker's knock path, from a captured frame to a grant and its reply:
 * parse → source check → per-packet filter → assemble → live-key check (all synchronous, in
 * memory) → verify (one store lookup) → grant (./grant.ts: firewall, one store transaction, reply) | resend the stored
 * reply | silence, with a reason code counted and logged. A store that cannot answer fails closed.
 * The filter follows the store's push (sequences issued on any gateway); close requests from
 * admins are carried out on this gateway's own grants. Everything it touches is injected, so
 * integration tests drive it with crafted frames.
 */
import { performance } from 'node:perf_hooks';
import { isTumblerError } from '../../shared/errors.js';
import { TCP_ACK, TCP_SYN } from '../../shared/packet/constants.js';
import { parseAddress, parseFrame } from '../../shared/packet/tcp.js';
import { sequenceKey, type Sequence } from '../../shared/protocol/sequence.js';
import { classifyIp } from '../config/address.js';
import type { StoreListener } from '../store/types.js';
import { WindowLimiter } from '../window-limiter.js';
import { Assembler, type Triple } from './assembler.js';
import type { LinkType } from './capture.js';
import { Counters } from './counters.js';
import { Granter, replyTarget, type KnockSource, type WorkerDeps } from './grant.js';
import { LIMITS } from './limits.js';
import { PacketFilter } from './packet-filter.js';
import { Rerun } from './rerun.js';
import { StoreHealth } from './store-health.js';
import { ProbeResponder } from './probe.js';
import { inSequence, settles } from './settle.js';
import { KnockTimings } from './timings.js';
import { Verifier, type Decision } from './verifier.js';

export type { FirewallClient, ReplyPort } from './grant.js';

export class KnockService implements StoreListener {
  readonly counters = new Counters();
  readonly timings = new KnockTimings();
  private readonly monotonicMs: () => number;
  private readonly assembler = new Assembler({ perSource: LIMITS.pendingPerSource, maxSources: LIMITS.pendingSources, ttlMs: LIMITS.pendingTtlMs });
  private readonly filter: PacketFilter;
  private readonly verifier: Verifier;
  private readonly granter: Granter;
  private readonly health: StoreHealth;
  private readonly ourAddresses: Set<string>;
  private readonly inFlight = new Set<string>();
  private readonly pendingWork = new Set<Promise<void>>();
  /** Re-sends per sequence (a spoofed copy must not turn us into a reflector) and rejection audit rows. */
  private readonly resendLimiter = new WindowLimiter(LIMITS.resendsPerSequencePerSec, 1000, LIMITS.macLimiterEntries);
  private readonly auditLimiter = new WindowLimiter(LIMITS.rejectAuditsPerSec, 1000, 64);
  private readonly probes: ProbeResponder;
  /** Sequences pushed while a rebuild's query was running: re-applied after it. */
  private addedDuringRebuild: Sequence[] | null = null;
  private readonly rebuild = new Rerun(() => this.rebuildOnce());
  private readonly closing = new Rerun(() => this.closePass());

  constructor(private readonly d: WorkerDeps) {
    this.filter = new PacketFilter(d.config.knockPorts);
    this.monotonicMs = d.monotonicMs ?? (() => performance.now());
    // The lookup is timed on its own (store latency), not with the verifier's crypto.
    const findByKey = async (key: Buffer) => {
      const started = this.monotonicMs();
      try {
        return await d.store.findByKey(key);
      } finally {
        this.timings.observe('store_lookup', (this.monotonicMs() - started) / 1000);
      }
    };
    this.verifier = new Verifier({ store: { findByKey }, services: d.config.services, windowSec: d.config.timestampWindowSec, graceSec: d.config.graceSec });
    this.health = new StoreHealth(d.log, this.counters, d.now);
    this.granter = new Granter({
      ...d, counters: this.counters, timings: this.timings, monotonicMs: this.monotonicMs, health: this.health, issued: (s) => this.addToFilter(s),
    });
    this.ourAddresses = new Set(d.config.addresses);
    this.probes = new ProbeResponder({ windowSec: d.config.timestampWindowSec, graceSec: d.config.graceSec, send: (t, p) => d.replies.send(t, p),
      log: d.log, count: (n) => this.count(n), now: d.now, random: d.random });
  }

  private count(name: string): void {
    this.counters.count(name);
  }

  private addToFilter(s: Sequence): void {
    this.filter.add(s);
    this.addedDuringRebuild?.push(s);
  }

  /**
   * Reload the per-packet filter from the store (start, resync, periodic): one reload at a time,
   * another after it when asked meanwhile; sequences pushed while its query runs are re-applied.
   * Store errors reject (the caller reports them to the health tracker).
   */
  rebuildFilter(): Promise<number> {
    return this.rebuild.run();
  }

  private async rebuildOnce(): Promise<number> {
    const added: Sequence[] = [];
    this.addedDuringRebuild = added;
    try {
      const n = this.filter.rebuild(await this.d.store.liveSequenceKeys());
      for (const s of added) this.filter.add(s);
      return n;
    } finally {
      this.addedDuringRebuild = null;
    }
  }

  // ---- the store's push (StoreListener) ---------------------------------------------------

  sequenceIssued(key: Buffer): void {
    const s = this.filter.addKey(key);
    if (s && this.addedDuringRebuild) this.addedDuringRebuild.push(s);
  }

  /** Users, devices or close requests changed (SQLite: any commit by another process). */
  changed(): void {
    this.resync();
  }

  resync(): void {
    this.track(this.rebuildFilter().then(() => this.health.succeeded(), (e: unknown) => this.health.failed(e, 'resync')));
    this.track(this.closeRequested());
  }

  /** Close the grants of this gateway that an admin asked to close (on any host), in our own kernel. */
  closeRequested(): Promise<void> {
    return this.closing.run();
  }

  private async closePass(): Promise<void> {
    try {
      for (const g of await this.d.store.closeRequests(this.d.now())) {
        await this.d.firewall.close({ family: g.family, address: g.address, port: g.port });
        await this.d.store.closeGrant(g.id, g.closeReason ?? 'closed by admin');
        this.count('closed_by_admin');
        this.d.log.log('info', 'grant.closed', { id: g.id, user: g.userName, device: g.deviceName, address: g.address, port: g.port });
      }
    } catch (e) {
      this.d.log.limited('warn', 'grant.close_failed', { code: isTumblerError(e) ? e.code : 'UNKNOWN' });
    }
  }

  /** The store's health as the knock path sees it (for the published state). */
  get storeHealth(): StoreHealth {
    return this.health;
  }

  get pending(): { sources: number; packets: number; inFlight: number } {
    return { sources: this.assembler.sources, packets: this.assembler.packets, inFlight: this.inFlight.size };
  }

  /** Resolves when every knock and close started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pendingWork.size) await Promise.allSettled([...this.pendingWork]);
  }

  /** Hot path: one captured frame. Synchronous up to the store lookup; never throws. */
  onFrame(frame: Buffer, linkType: LinkType, tsMs: number): void {
    this.count('frames');
    let p;
    try {
      p = parseFrame(frame, linkType);
    } catch {
      this.count('malformed');
      return;
    }
    if ((p.flags & (TCP_SYN | TCP_ACK)) !== TCP_SYN || !this.ourAddresses.has(p.dst)) {
      this.count('not_knock');
      return;
    }
    if (!this.filter.passes(p.dstPort, p.seq)) {
      this.count('filtered');
      return;
    }
    // pcap sees packets before the kernel drops martians: a knock "from" 127.0.0.1, 0.1.2.3,
    // a multicast or a v4-mapped address never reaches the store or the monitor. One object
    // serves both: `text` is classifyIp's name for the address.
    const source = { ...parseAddress(p.src), address: p.src, text: p.src };
    if (classifyIp(source) !== 'unicast') {
      this.count('reject.SOURCE_ADDRESS');
      return;
    }
    const triples = this.assembler.add(p.src, { dstPort: p.dstPort, isn: p.seq, srcPort: p.srcPort, dstAddress: p.dst, atMs: tsMs });
    if (triples.length) {
      this.counters.count('assembled', triples.length);
      this.track(this.onTriples(source, triples));
    }
  }

  /** Try the assembled combinations in turn; the first that is a knock uses up its packets. */
  private async onTriples(source: KnockSource, triples: readonly Triple[]): Promise<void> {
    for (const t of triples) {
      const sequence = Verifier.sequenceOf(t);
      const key = sequenceKey(sequence);
      if (!this.filter.hasSequence(key)) {
        this.count('reject.NO_SEQUENCE'); // decided in memory: no store round trip
        continue;
      }
      // In flight: this exact triple (a duplicate packet re-assembles it). Another triple on the
      // same sequence (a spoof carrying the right tag) is evaluated on its own: it must not block the real one.
      const keyHex = key.toString('hex'); // the limiters' and the in-flight set's key, made once
      const id = `${keyHex}:${t[0].isn}:${t[1].isn}:${t[2].isn}`;
      if (this.inFlight.has(id)) {
        this.count('reject.IN_FLIGHT');
        continue;
      }
      if (this.inFlight.size >= LIMITS.inFlight) {
        this.count('reject.WORKER_BUSY');
        return;
      }
      this.inFlight.add(id);
      try {
        let decision: Decision;
        try {
          decision = await this.verifier.decide(t, sequence, key, keyHex, source, this.d.now);
          this.health.succeeded();
        } catch (e) {
          this.count('reject.STORE_UNAVAILABLE'); // fail closed: no lookup, no grant
          this.health.failed(e, 'lookup');
          return;
        }
        // A knock decided after its MAC settles the sequence's pending packets from this source
        // (settle.ts); the triple's own packets are among them, so it is used up here too.
        const settled = settles(decision);
        if (settled) this.assembler.consumeWhere(source.address, inSequence(sequence));
        if (decision.kind === 'reject') {
          this.onRejected(decision, source.address);
          if (settled) return;
          continue;
        }
        if (decision.kind === 'probe') {
          await this.probes.answer(decision, replyTarget(t, source), source, keyHex);
        } else if (decision.kind === 'resend') {
          if (this.resendLimiter.hit(keyHex, this.d.now())) await this.resend(decision, t, source);
          else this.count('resend_limited');
        } else {
          await this.granter.grant(decision, t, source);
        }
        return; // the packets are used; the other combinations are moot
      } finally {
        this.inFlight.delete(id);
      }
    }
  }

  private track(work: Promise<void>): void {
    this.pendingWork.add(work);
    void work.finally(() => this.pendingWork.delete(work));
  }

  private onRejected(d: Extract<Decision, { kind: 'reject' }>, address: string): void {
    this.count(`reject.${d.reason}`);
    if (d.reason === 'NO_SEQUENCE') return; // the common case under a flood: counted only
    const c = d.candidate;
    this.d.log.limited('info', 'knock.rejected', { reason: d.reason, address, user: c?.userName, device: c?.deviceName });
    if (c && d.reason !== 'MAC_RATE' && this.auditLimiter.hit(d.reason, this.d.now())) {
      this.d.store.recordAudit({ event: 'knock', user: c.userName, device: c.deviceName, address, result: 'rejected', reason: d.reason })
        .catch(() => this.count('audit_failed'));
    }
  }

  private async resend(d: Extract<Decision, { kind: 'resend' }>, t: Triple, source: KnockSource): Promise<void> {
    this.count('resent');
    try {
      await this.d.replies.send(replyTarget(t, source), d.candidate.reply!);
      this.d.log.limited('info', 'knock.resent', { address: source.address, user: d.candidate.userName, device: d.candidate.deviceName });
    } catch (e) {
      this.d.log.limited('warn', 'reply.failed', { code: isTumblerError(e) ? e.code : 'UNKNOWN' });
    }
  }
}

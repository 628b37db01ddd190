/**
 * The worker's knock path, from a captured frame to a grant and its reply:
 * parse → per-packet filter → assemble → verify → (grant: firewall, then one store transaction,
 * then reply) | (resend the stored reply) | (silence, with a reason code counted and logged).
 * Everything it touches is injected, so integration tests drive it with crafted frames.
 */
import { isTumblerError, TumblerError } from '../../shared/errors.js';
import { parseAddress, parseFrame } from '../../shared/packet/tcp.js';
import { replyKey, sealReply } from '../../shared/protocol/reply.js';
import { generateSequence, sequenceKey, uniformInt, type Sequence } from '../../shared/protocol/sequence.js';
import type { TumblerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { KnockStore } from '../store/types.js';
import { Assembler, type Triple } from './assembler.js';
import type { LinkType } from './capture.js';
import { LIMITS } from './limits.js';
import { PacketFilter } from './packet-filter.js';
import { WindowLimiter } from '../window-limiter.js';
import { ProbeResponder } from './probe.js';
import { inSequence, settles } from './settle.js';
import type { ReplyTarget } from './reply-sender.js';
import { Verifier, type Decision } from './verifier.js';

const TCP_SYN = 0x02;
const TCP_ACK = 0x10;

/** What the worker may ask of the privileged monitor (a closed vocabulary, see shared/ipc). */
export interface FirewallClient {
  open(g: { family: 4 | 6; address: string; port: number; service: string; ttl: number }): Promise<void>;
  close(g: { family: 4 | 6; address: string; port: number }): Promise<void>;
}

export interface ReplyPort {
  send(t: ReplyTarget, payload: Buffer): Promise<void>;
}

export interface KnockServiceDeps {
  readonly config: TumblerConfig;
  readonly store: KnockStore;
  readonly firewall: FirewallClient;
  readonly replies: ReplyPort;
  readonly log: Logger;
  readonly now: () => number;
  readonly random: (n: number) => Buffer;
}

export type Counters = Record<string, number>;

export class KnockService {
  readonly counters: Counters = {};
  private readonly assembler = new Assembler({ perSource: LIMITS.pendingPerSource, maxSources: LIMITS.pendingSources, ttlMs: LIMITS.pendingTtlMs });
  private readonly filter: PacketFilter;
  private readonly verifier: Verifier;
  private readonly ourAddresses: Set<string>;
  private readonly inFlight = new Set<string>();
  private readonly pendingWork = new Set<Promise<void>>();
  /** Re-sends per sequence (a spoofed copy must not turn us into a reflector) and rejection audit rows. */
  private readonly resendLimiter = new WindowLimiter(LIMITS.resendsPerSequencePerSec, 1000, LIMITS.macLimiterEntries);
  private readonly auditLimiter = new WindowLimiter(LIMITS.rejectAuditsPerSec, 1000, 64);
  private readonly probes: ProbeResponder;

  constructor(private readonly d: KnockServiceDeps) {
    this.filter = new PacketFilter(d.config.knockPorts);
    this.verifier = new Verifier({ store: d.store, services: d.config.services, windowSec: d.config.timestampWindowSec, graceSec: d.config.graceSec });
    this.ourAddresses = new Set(d.config.addresses);
    this.probes = new ProbeResponder({ windowSec: d.config.timestampWindowSec, graceSec: d.config.graceSec, send: (t, p) => d.replies.send(t, p),
      log: d.log, count: (n) => this.count(n), now: d.now, random: d.random });
    this.rebuildFilter();
  }

  private count(name: string): void {
    this.counters[name] = (this.counters[name] ?? 0) + 1;
  }

  /** Reload the per-packet filter from the store (start, admin change, periodic). */
  rebuildFilter(): number {
    return this.filter.rebuild(this.d.store.liveSequenceKeys());
  }

  get pending(): { sources: number; packets: number; inFlight: number } {
    return { sources: this.assembler.sources, packets: this.assembler.packets, inFlight: this.inFlight.size };
  }

  /** Resolves when every grant started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pendingWork.size) await Promise.allSettled([...this.pendingWork]);
  }

  /** Hot path: one captured frame. Synchronous up to the firewall request; never throws. */
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
    const triples = this.assembler.add(p.src, { dstPort: p.dstPort, isn: p.seq, srcPort: p.srcPort, dstAddress: p.dst, atMs: tsMs });
    if (!triples.length) return;
    const source = { ...parseAddress(p.src), address: p.src };
    for (const t of triples) {
      const keyBytes = Verifier.keyOf(t);
      const key = keyBytes.toString('hex');
      if (this.inFlight.has(key)) {
        this.count('reject.IN_FLIGHT');
        continue;
      }
      const decision = this.verifier.decide(t, keyBytes, source, this.d.now());
      // A knock decided after its MAC settles the sequence's pending packets from this source (settle.ts).
      if (settles(decision)) this.assembler.consumeWhere(p.src, inSequence(keyBytes));
      if (decision.kind === 'reject') {
        this.onRejected(decision, source.address);
        if (settles(decision)) return;
        continue;
      }
      this.assembler.consume(p.src, t);
      if (decision.kind === 'probe') this.track(this.probes.answer(decision, this.replyTarget(t, source.family, source.address), source));
      else if (decision.kind === 'resend') {
        if (this.resendLimiter.hit(key, this.d.now())) this.track(this.resend(decision, t, source.family, source.address));
        else this.count('resend_limited');
      } else this.track(this.onKnockAccepted(decision, t, source.family, source.address, key));
      return; // the packets are used; the other combinations are moot
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
      this.auditSafe({ event: 'knock', user: c.userName, device: c.deviceName, address, result: 'rejected', reason: d.reason });
    }
  }

  private replyTarget(t: Triple, family: 4 | 6, address: string): ReplyTarget {
    const last = t[2];
    return { family, serverAddress: last.dstAddress, clientAddress: address, serverPort: last.dstPort, clientPort: last.srcPort, knockIsn: last.isn };
  }

  private async resend(d: Extract<Decision, { kind: 'resend' }>, t: Triple, family: 4 | 6, address: string): Promise<void> {
    this.count('resent');
    try {
      await this.d.replies.send(this.replyTarget(t, family, address), d.candidate.reply!);
      this.d.log.limited('info', 'knock.resent', { address, user: d.candidate.userName, device: d.candidate.deviceName });
    } catch (e) {
      this.d.log.limited('warn', 'reply.failed', { code: isTumblerError(e) ? e.code : 'UNKNOWN' });
    }
  }

  /** A verified knock: open the firewall, then commit everything in one transaction, then reply. */
  private async onKnockAccepted(d: Extract<Decision, { kind: 'accept' }>, t: Triple, family: 4 | 6, address: string, key: string): Promise<void> {
    const { config, store, firewall, now, random } = this.d;
    const c = d.candidate;
    this.inFlight.add(key);
    let opened: { family: 4 | 6; address: string; port: number } | null = null;
    try {
      if (this.inFlight.size > LIMITS.inFlight) throw new TumblerError('WORKER_BUSY', 'too many knocks in flight');
      // 1. Firewall first: a crash after this leaves a kernel element with no grant row, which
      //    reconcile removes; the sequence is untouched and the client's retry works.
      const ttl = config.defaultTtlSec;
      const size = config.forwardPorts.last - config.forwardPorts.first + 1;
      for (let attempt = 0; !opened; attempt++) {
        const port = config.forwardPorts.first + uniformInt(size, random);
        try {
          await firewall.open({ family, address, port, service: d.service.name, ttl });
          opened = { family, address, port };
        } catch (e) {
          if (!(isTumblerError(e, 'MONITOR_DUPLICATE') && attempt < 4)) throw e;
        }
      }
      // 2. One transaction: consume (or recover), issue the next sequence, record grant, reply, audit.
      const nowMs = now();
      const expiresAt = Math.floor(nowMs / 1000) + ttl;
      let next: Sequence | null = null;
      let reply: Buffer | null = null;
      for (let attempt = 0; !next; attempt++) {
        const candidateNext = generateSequence(config.knockPorts, random);
        const sealed = sealReply(replyKey(c.key), {
          grantedPort: opened.port, expiresAt, next: candidateNext, serverTimeMs: nowMs, observed: parseAddress(address),
        }, { sequence: d.sequence, isns: d.isns }, random);
        try {
          store.acceptKnock({
            sequenceId: c.sequenceId, deviceId: c.deviceId, ts: d.declaration.timestamp, isns: d.isns, address, family,
            service: d.service.name, port: opened.port, ttlSec: ttl, next: candidateNext, reply: sealed,
            replyMeta: { serverAddress: t[2].dstAddress }, mode: d.mode,
          });
          next = candidateNext;
          reply = sealed;
        } catch (e) {
          if (!(isTumblerError(e, 'STORE_SEQUENCE_COLLISION') && attempt < LIMITS.sequenceDrawAttempts)) throw e;
        }
      }
      this.filter.add(sequenceKey(next));
      this.count(d.mode === 'first' ? 'granted' : 'granted_recovery');
      this.d.log.log('info', 'grant.opened', {
        user: c.userName, device: c.deviceName, address, service: d.service.name, port: opened.port, ttl, mode: d.mode,
      });
      // 3. The reply. If it is lost the client retransmits and gets the stored copy.
      await this.d.replies.send(this.replyTarget(t, family, address), reply!);
    } catch (e) {
      const code = isTumblerError(e) ? e.code : 'UNKNOWN';
      this.count(`grant_failed.${code}`);
      this.d.log.limited('error', 'grant.failed', { code, user: c.userName, device: c.deviceName, address }); // bursts shed by WORKER_BUSY
      if (opened && code !== 'REPLY_SEND') await firewall.close(opened).catch(() => undefined);
    } finally {
      this.inFlight.delete(key);
    }
  }

  private auditSafe(a: Parameters<KnockStore['recordAudit']>[0]): void {
    try {
      this.d.store.recordAudit(a);
    } catch {
      this.count('audit_failed');
    }
  }
}

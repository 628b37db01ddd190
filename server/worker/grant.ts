/**
 * Granting a verified knock: open the firewall on a random free forward port (through the monitor),
 * then one store transaction that consumes the sequence and issues the next (the one sequence-draw
 * loop: a drawn sequence already in play is drawn again), then the sealed reply. A failure after
 * the firewall opened closes it again, so nothing stays open without a durable consumption.
 */
import { isTumblerError } from '../../shared/errors.js';
import type { GrantKey } from '../../shared/ipc/messages.js';
import type { AddressBytes, IpFamily } from '../../shared/net/address.js';
import { replyKey, sealReply } from '../../shared/protocol/reply.js';
import { uniformInt, type Sequence } from '../../shared/protocol/sequence.js';
import type { TumblerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { withFreshSequence } from '../store/sequence-draw.js';
import type { KnockStore } from '../store/types.js';
import type { Triple } from './assembler.js';
import type { Counters } from './counters.js';
import type { ReplyTarget } from './reply-sender.js';
import type { StoreHealth } from './store-health.js';
import type { KnockTimings } from './timings.js';
import type { Decision } from './verifier.js';

export type Accepted = Extract<Decision, { kind: 'accept' }>;

/** Where a knock came from: its source address as bytes (parsed once per packet) and as text. */
export type KnockSource = AddressBytes & { readonly address: string };

/** What the worker may ask of the privileged monitor (a closed vocabulary, see shared/ipc). */
export interface FirewallClient {
  open(g: GrantKey & { service: string; ttl: number }): Promise<void>;
  close(g: GrantKey): Promise<void>;
}

export interface ReplyPort {
  send(t: ReplyTarget, payload: Buffer): Promise<void>;
}

/** What the worker's knock path is given (everything injected: tests drive it with crafted frames). */
export interface WorkerDeps {
  readonly config: TumblerConfig;
  readonly store: KnockStore;
  readonly firewall: FirewallClient;
  readonly replies: ReplyPort;
  readonly log: Logger;
  readonly now: () => number;
  readonly random: (n: number) => Buffer;
  /** A monotonic clock in (fractional) milliseconds for the store timings (default performance.now). */
  readonly monotonicMs?: () => number;
}

export interface GrantDeps extends WorkerDeps {
  readonly counters: Counters;
  readonly timings: KnockTimings;
  /** Monotonic milliseconds, for the store timing. */
  readonly monotonicMs: () => number;
  readonly health: StoreHealth;
  /** A sequence this gateway just issued: the pre-filter passes it at once. */
  readonly issued: (next: Sequence) => void;
}

/** Port draws when the monitor says the drawn forward port is taken for this address. */
const PORT_DRAWS = 5;

/** Where the reply goes: from the last knock packet's port and address, to its source. */
export function replyTarget(t: Triple, source: KnockSource): ReplyTarget {
  const last = t[2];
  return { family: source.family, serverAddress: last.dstAddress, clientAddress: source.address, serverPort: last.dstPort, clientPort: last.srcPort, knockIsn: last.isn };
}

export class Granter {
  constructor(private readonly d: GrantDeps) {}

  async grant(a: Accepted, t: Triple, source: KnockSource): Promise<void> {
    const { config, firewall, counters } = this.d;
    const { family, address } = source;
    const c = a.candidate;
    const ttl = config.defaultTtlSec;
    let opened: GrantKey | null = null;
    try {
      // 1. Firewall first: a crash after this leaves a kernel element with no grant row, which
      //    reconcile removes; the sequence is untouched and the client's retry works.
      opened = await this.openFirewall(family, address, a.service.name, ttl);
      // 2. One transaction: consume (or recover), issue the next sequence, record grant and audit.
      const reply = await this.commit(a, opened.port, ttl, source);
      counters.count(a.mode === 'first' ? 'granted' : 'granted_recovery');
      // Knock → grant: from the first knock packet's capture to a grant in the firewall and the store.
      this.d.timings.observe('knock_to_grant', (this.d.now() - Math.min(t[0].atMs, t[1].atMs, t[2].atMs)) / 1000);
      this.d.log.log('info', 'grant.opened', {
        user: c.userName, device: c.deviceName, address, service: a.service.name, port: opened.port, ttl, mode: a.mode,
      });
      // 3. The reply. If it is lost the client retransmits and gets the stored copy.
      await this.d.replies.send(replyTarget(t, source), reply);
    } catch (e) {
      const code = isTumblerError(e) ? e.code : 'UNKNOWN';
      counters.count(`grant_failed.${code}.${a.service.name}`);
      if (code === 'STORE_UNAVAILABLE') this.d.health.failed(e, 'accept');
      else this.d.log.limited('error', 'grant.failed', { code, user: c.userName, device: c.deviceName, address });
      if (opened && code !== 'REPLY_SEND') await firewall.close(opened).catch(() => undefined);
    }
  }

  private async openFirewall(family: IpFamily, address: string, service: string, ttl: number): Promise<GrantKey> {
    const { first, last } = this.d.config.forwardPorts;
    for (let attempt = 1; ; attempt++) {
      const port = first + uniformInt(last - first + 1, this.d.random);
      try {
        await this.d.firewall.open({ family, address, port, service, ttl });
        return { family, address, port };
      } catch (e) {
        if (!(isTumblerError(e, 'MONITOR_DUPLICATE') && attempt < PORT_DRAWS)) throw e;
      }
    }
  }

  /** The accept transaction with a fresh next sequence; returns the sealed reply it stored. */
  private async commit(a: Accepted, port: number, ttlSec: number, source: KnockSource): Promise<Buffer> {
    const { store, now, random } = this.d;
    const c = a.candidate;
    const nowMs = now();
    const expiresAt = Math.floor(nowMs / 1000) + ttlSec;
    const key = replyKey(c.key);
    const { family, address } = source;
    return withFreshSequence(this.d.config.knockPorts, random, async (next) => {
      const reply = sealReply(key, { grantedPort: port, expiresAt, next, serverTimeMs: nowMs, observed: source },
        { sequence: a.sequence, isns: a.isns }, random);
      const started = this.d.monotonicMs();
      try {
        await store.acceptKnock({
          sequenceId: c.sequenceId, deviceId: c.deviceId, ts: a.declaration.timestamp, isns: a.isns, address, family,
          service: a.service.name, port, ttlSec, next, reply, mode: a.mode,
        });
      } finally {
        this.d.timings.observe('store_accept', (this.d.monotonicMs() - started) / 1000);
      }
      this.d.health.succeeded();
      this.d.issued(next);
      return reply;
    });
  }
}

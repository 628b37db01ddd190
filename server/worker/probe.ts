/**
 * The worker's answer to a probe ("where am I", docs/protocol.md §8): a probe whose MAC verified
 * under the device key, on a sequence that can still grant, of an enabled user and device, is
 * answered with a sealed address report (the address its packets came from, the server's clock and
 * timestamp window). It grants nothing, consumes nothing and writes nothing to the store.
 *
 * Guarded in memory, per sequence (a probe binds no address, so a copy would otherwise be answered
 * to whoever sends it): the identical probe again is answered only from the address that sent it
 * first, within the grace window (a retransmit); a different probe only with a strictly newer
 * timestamp than the last one seen; and at most LIMITS.resendsPerSequencePerSec answers per second.
 * Anything else is silent, with a reason code for counters and logs.
 */
import { isTumblerError } from '../../shared/errors.js';
import type { AddressBytes, Declaration } from '../../shared/protocol/knock.js';
import { replyKey, sealAddressReport } from '../../shared/protocol/reply.js';
import type { Sequence } from '../../shared/protocol/sequence.js';
import type { Logger } from '../log.js';
import type { Candidate } from '../store/types.js';
import { WindowLimiter } from '../window-limiter.js';
import { LIMITS } from './limits.js';
import type { ReplyTarget } from './reply-sender.js';

export type ProbeRejectReason = 'PROBE_RETIRED' | 'PROBE_REPLAY' | 'PROBE_RATE';

/** A verified probe, to be answered by ProbeResponder. */
export interface ProbeDecision {
  readonly kind: 'probe';
  readonly candidate: Candidate;
  readonly declaration: Declaration;
  readonly sequence: Sequence;
  readonly isns: Buffer;
}

export type ProbeVerdict = ProbeDecision
  | { readonly kind: 'reject'; readonly reason: ProbeRejectReason | 'USER_DISABLED' | 'DEVICE_DISABLED'; readonly candidate: Candidate };

/** Why a candidate may not knock nor probe (its user first, then its device), or null when it may. */
export function disabledReason(c: Candidate): 'USER_DISABLED' | 'DEVICE_DISABLED' | null {
  if (!c.userEnabled) return 'USER_DISABLED';
  if (!c.deviceEnabled) return 'DEVICE_DISABLED';
  return null;
}

/** The verifier's step for a verified probe: the store-side rules (sequence still in play, enabled). */
export function probeVerdict(candidate: Candidate, declaration: Declaration, sequence: Sequence, isns: Buffer): ProbeVerdict {
  if (candidate.state !== 'live' && !candidate.successorLive) return { kind: 'reject', reason: 'PROBE_RETIRED', candidate };
  const disabled = disabledReason(candidate);
  if (disabled) return { kind: 'reject', reason: disabled, candidate };
  return { kind: 'probe', candidate, declaration, sequence, isns };
}

interface Seen {
  readonly ts: number;
  readonly isns: string;
  readonly source: string;
  readonly atMs: number;
}

/** The per-sequence memory of the last probe answered (bounded; oldest forgotten first). */
export class ProbeGuard {
  private readonly seen = new Map<string, Seen>();
  private readonly rate: WindowLimiter;

  constructor(private readonly o: { graceMs: number; perSecond: number; maxEntries: number }) {
    this.rate = new WindowLimiter(o.perSecond, 1000, o.maxEntries);
  }

  /** Null when the probe may be answered now; else why not. Records what it admits. */
  admit(sequenceKeyHex: string, ts: number, isnsHex: string, source: string, nowMs: number): ProbeRejectReason | null {
    const last = this.seen.get(sequenceKeyHex);
    if (last && last.isns === isnsHex) {
      if (last.source !== source || nowMs - last.atMs > this.o.graceMs) return 'PROBE_REPLAY';
    } else if (last && ts <= last.ts) {
      return 'PROBE_REPLAY';
    } else {
      this.seen.delete(sequenceKeyHex);
      if (this.seen.size >= this.o.maxEntries) this.seen.delete(this.seen.keys().next().value as string);
      this.seen.set(sequenceKeyHex, { ts, isns: isnsHex, source, atMs: nowMs });
    }
    return this.rate.hit(sequenceKeyHex, nowMs) ? null : 'PROBE_RATE';
  }

  get size(): number {
    return this.seen.size;
  }
}

export interface ProbeResponderDeps {
  readonly windowSec: number;
  readonly graceSec: number;
  readonly send: (t: ReplyTarget, payload: Buffer) => Promise<void>;
  readonly log: Logger;
  readonly count: (name: string) => void;
  readonly now: () => number;
  readonly random: (n: number) => Buffer;
}

/** Answers verified probes (guard, seal, send). Never throws. */
export class ProbeResponder {
  private readonly guard: ProbeGuard;

  constructor(private readonly d: ProbeResponderDeps) {
    this.guard = new ProbeGuard({ graceMs: d.graceSec * 1000, perSecond: LIMITS.resendsPerSequencePerSec, maxEntries: LIMITS.macLimiterEntries });
  }

  /** `sequenceKeyHex`: the hex sequence key of p.sequence, as the caller computed it. */
  async answer(p: ProbeDecision, target: ReplyTarget, source: AddressBytes & { address: string }, sequenceKeyHex: string): Promise<void> {
    const nowMs = this.d.now();
    const c = p.candidate;
    const refused = this.guard.admit(sequenceKeyHex, p.declaration.timestamp, p.isns.toString('hex'), source.address, nowMs);
    if (refused) {
      this.d.count(`reject.${refused}`);
      if (refused !== 'PROBE_RATE') this.d.log.limited('info', 'knock.rejected', { reason: refused, address: source.address, user: c.userName, device: c.deviceName });
      return;
    }
    try {
      const payload = sealAddressReport(replyKey(c.key), { windowSec: this.d.windowSec, serverTimeMs: nowMs, observed: source },
        { sequence: p.sequence, isns: p.isns }, this.d.random);
      await this.d.send(target, payload);
      this.d.count('probe.answered');
    } catch (e) {
      this.d.count('probe.failed');
      this.d.log.limited('warn', 'reply.failed', { code: isTumblerError(e) ? e.code : 'UNKNOWN' });
    }
  }
}

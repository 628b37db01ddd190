/**
 * The knock verifier, in cost order: sequence lookup (one index hit in the store) → exact-copy
 * check (no crypto) → MAC-failure damper → MAC and declaration (constant-time) → timestamp →
 * one-time rule → device/user enabled → service allowed. Never throws for a bad knock: it returns
 * a decision with a reason code, which goes to logs and counters only (the wire stays silent). A
 * store that cannot answer makes decide() reject its promise: the caller fails closed.
 */
import { isTumblerError } from '../../shared/errors.js';
import { isProbe, knockIsns, knockKeys, verifyKnock, type AddressBytes, type Declaration, type Knock, type KnockKeys } from '../../shared/protocol/knock.js';
import type { Sequence } from '../../shared/protocol/sequence.js';
import type { ServiceConfig } from '../config/types.js';
import type { Candidate, KnockStore } from '../store/types.js';
import { WindowLimiter } from '../window-limiter.js';
import { LIMITS } from './limits.js';
import type { Triple } from './assembler.js';
import { disabledReason, probeVerdict, type ProbeDecision, type ProbeRejectReason } from './probe.js';

/** The codes verifyKnock (shared/protocol/knock.ts) rejects a knock with. */
const KNOCK_CODES = ['KNOCK_SHAPE', 'KNOCK_MAC', 'KNOCK_VERSION', 'KNOCK_DECLARATION', 'KNOCK_STALE'] as const;
export type KnockCode = (typeof KNOCK_CODES)[number];
/** The verifier's own reasons, after the protocol's. */
const POLICY_REASONS = [
  'NO_SEQUENCE', 'MAC_RATE', 'REPLAY', 'USER_DISABLED', 'DEVICE_DISABLED', 'SERVICE_UNKNOWN', 'SERVICE_DENIED', 'SERVICE_FAMILY', 'IN_FLIGHT',
] as const;
export type RejectReason = KnockCode | (typeof POLICY_REASONS)[number] | ProbeRejectReason;

function isKnockCode(code: string): code is KnockCode {
  return (KNOCK_CODES as readonly string[]).includes(code);
}

/** The reason for a verifyKnock failure; anything unexpected counts as a malformed knock. */
function knockCodeOf(e: unknown): KnockCode {
  const code = isTumblerError(e) ? e.code : '';
  return isKnockCode(code) ? code : 'KNOCK_SHAPE';
}

export type Decision =
  | { kind: 'reject'; reason: RejectReason; candidate?: Candidate }
  | { kind: 'resend'; candidate: Candidate }
  | ProbeDecision
  | { kind: 'accept'; mode: 'first' | 'recovery'; candidate: Candidate; declaration: Declaration; service: ServiceConfig; sequence: Sequence; isns: Buffer };

export interface VerifierOptions {
  readonly store: Pick<KnockStore, 'findByKey'>;
  readonly services: readonly ServiceConfig[];
  readonly windowSec: number;
  readonly graceSec: number;
}

export class Verifier {
  private readonly macFailures = new WindowLimiter(LIMITS.macFailuresPerSequencePerSec, 1000, LIMITS.macLimiterEntries);
  private readonly keyCache = new Map<number, { raw: Buffer; keys: KnockKeys }>();
  private readonly servicesById = new Map<number, ServiceConfig>();

  constructor(private readonly o: VerifierOptions) {
    for (const s of o.services) this.servicesById.set(s.id, s);
  }

  /** The sequence a triple (sorted by port) claims: its ports and the ISNs' high bytes (the tags). */
  static sequenceOf(t: Triple): Sequence {
    return { ports: [t[0].dstPort, t[1].dstPort, t[2].dstPort], tags: [t[0].isn >>> 24, t[1].isn >>> 24, t[2].isn >>> 24] };
  }

  /** `sequence` is sequenceOf(t), `key` its sequenceKey and `keyHex` that in hex, all computed once by the caller. */
  async decide(t: Triple, sequence: Sequence, key: Buffer, keyHex: string, source: AddressBytes & { address: string }, now: () => number): Promise<Decision> {
    // 1. One index lookup: no candidate, no crypto.
    const candidate = await this.o.store.findByKey(key);
    const nowMs = now(); // after the lookup, which may have waited
    if (!candidate) return { kind: 'reject', reason: 'NO_SEQUENCE' };
    // 2. An exact copy of the knock that consumed this sequence needs no crypto: from the same
    //    address within the grace window it is a retransmit (re-send the stored reply); from
    //    anywhere else, or later, it is a replay (the MAC binds the address it was made for).
    const packets = t.map((p) => ({ dstPort: p.dstPort, isn: p.isn })) as unknown as Knock;
    const isns = knockIsns(packets);
    if (candidate.state === 'consumed' && candidate.lastIsns !== null && candidate.lastIsns.equals(isns)) {
      const sameSource = candidate.lastAddress === source.address;
      const inGrace = candidate.consumedAt !== null && nowMs - candidate.consumedAt <= this.o.graceSec * 1000;
      return sameSource && inGrace && candidate.reply ? { kind: 'resend', candidate } : { kind: 'reject', reason: 'REPLAY', candidate };
    }
    // 3. Damp MAC guessing on a known sequence before spending crypto on it.
    if (!this.macFailures.allowed(keyHex, nowMs)) return { kind: 'reject', reason: 'MAC_RATE', candidate };
    // 4. MAC, declaration and timestamp (pure protocol code).
    let declaration: Declaration;
    try {
      declaration = verifyKnock({
        keys: this.keysFor(candidate), sequence, packets, observed: source,
        nowSec: Math.floor(nowMs / 1000), windowSec: this.o.windowSec,
      });
    } catch (e) {
      const code = knockCodeOf(e);
      if (code === 'KNOCK_MAC') this.macFailures.hit(keyHex, nowMs);
      return { kind: 'reject', reason: code, candidate };
    }
    // 4b. A probe ("where am I") grants and consumes nothing: its own rules (server/worker/probe.ts).
    if (isProbe(declaration)) return probeVerdict(candidate, declaration, sequence, isns);
    // 5. One-time rule: a newer knock on a consumed sequence is the lost-reply recovery, allowed
    //    only while the successor it was given has never been used.
    let mode: 'first' | 'recovery' = 'first';
    if (candidate.state === 'consumed') {
      if (!(candidate.successorLive && candidate.lastTs !== null && declaration.timestamp > candidate.lastTs)) {
        return { kind: 'reject', reason: 'REPLAY', candidate };
      }
      mode = 'recovery';
    }
    // 6. Policy: enabled, service known, allowed for the user, reachable in this family.
    const disabled = disabledReason(candidate);
    if (disabled) return { kind: 'reject', reason: disabled, candidate };
    const service = this.servicesById.get(declaration.serviceId);
    if (!service) return { kind: 'reject', reason: 'SERVICE_UNKNOWN', candidate };
    if (!candidate.services.includes(service.name)) return { kind: 'reject', reason: 'SERVICE_DENIED', candidate };
    if (!(source.family === 4 ? service.target4 : service.target6)) return { kind: 'reject', reason: 'SERVICE_FAMILY', candidate };
    return { kind: 'accept', mode, candidate, declaration, service, sequence, isns };
  }

  /** Subkeys per device, cached; a re-enrolled device (new key) refreshes its entry. */
  private keysFor(c: Candidate): KnockKeys {
    const hit = this.keyCache.get(c.deviceId);
    if (hit && hit.raw.equals(c.key)) return hit.keys;
    if (this.keyCache.size >= 4096) this.keyCache.delete(this.keyCache.keys().next().value as number);
    const keys = knockKeys(c.key);
    this.keyCache.set(c.deviceId, { raw: Buffer.from(c.key), keys });
    return keys;
  }
}

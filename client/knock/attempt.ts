/**
 * One gateway address, from the first knock to a grant or to a cause (docs/protocol.md §8):
 * - the address to bind is known (--public-address, or what the server saw of this host in this
 *   family, from the same local address): knock at once and wait once; no answer → probe;
 * - unknown (the first knock in this family, or this host moved to another network): probe first.
 * The probe's answer says the address the server sees and its clock. A clock too far off is the
 * cause; otherwise knock bound to that address: the same knock again when nothing changed (it, or
 * its answer, may just have been lost), a new one when the address or the clock changed. A knock
 * still unanswered although the probe was answered is "refused", unless a second probe shows the
 * address moved again in between ("unstable").
 * Common cases: known address unchanged = 1 round trip; first knock behind NAT = 2; after the
 * NAT's address changed = one wait + 2.
 */
import { parseAddress, type AddressBytes } from '../../shared/net/address.js';
import { PROBE_WINDOW_SEC } from '../../shared/protocol/constants.js';
import type { Reply } from '../../shared/protocol/reply.js';
import type { ObservedAddress } from '../state/schema.js';
import { clockVerdict, type KnockClock } from './clock.js';
import { knockExchange, probeExchange, type Answer, type ExchangeContext } from './exchange.js';
import { addressText } from './wire.js';

/** Waits of each step, as multiples of the timeout. */
export const WAITS = {
  /** A knock bound to a known address, before probing. */
  knockFirst: [1],
  /** The probe after that knock went unanswered. */
  probeAfterKnock: [1, 1.5],
  /** The probe when the address is unknown. */
  probeFirst: [1, 1.5, 2],
  /** The same knock again, when the probe showed nothing changed. */
  knockAgain: [1.5, 2],
  /** A knock bound to the address the probe reported. */
  knockAfterProbe: [1, 1.5, 2],
  /** One probe to tell a refused knock from an address that moved again. */
  probeCheck: [1],
} as const;

/** A stored clock offset at least this large gets one more probe with the local clock as is. */
export const PROBE_OFFSET_FALLBACK_MS = (PROBE_WINDOW_SEC * 1000) / 2;

export type BoundSource = 'public' | 'observed' | 'probed';

export type Outcome =
  | { readonly kind: 'granted'; readonly grant: Answer<Reply>; readonly bound: string; readonly boundSource: BoundSource }
  | { readonly kind: 'silent' }
  | { readonly kind: 'clock'; readonly offsetMs: number }
  | { readonly kind: 'address-mismatch'; readonly given: string; readonly seen: string }
  | { readonly kind: 'address-unstable'; readonly seen: readonly [string, string] }
  | { readonly kind: 'refused'; readonly seen: string };

export interface AttemptResult {
  readonly outcome: Outcome;
  /** What the server showed of this host's address in this family (from a probe or the grant). */
  readonly learned?: ObservedAddress;
}

export interface AttemptInput {
  readonly ctx: ExchangeContext;
  readonly serviceId: number;
  /** Seconds for this run's knocks and probes; its offset may be reset by a probe's answer. */
  readonly clock: KnockClock;
  readonly timeoutMs: number;
  /** --public-address (canonical, of this family). */
  readonly publicAddress?: string;
  /** What the profile knows of this host's address in this family. */
  readonly known?: ObservedAddress;
  readonly note?: (line: string) => void;
}

export async function attempt(i: AttemptInput): Promise<AttemptResult> {
  const { ctx, clock } = i;
  const waits = (factors: readonly number[]): number[] => factors.map((f) => f * i.timeoutMs);
  const learnedFrom = (a: AddressBytes): ObservedAddress => ({ address: addressText(a), local: ctx.local });
  const granted = (g: Answer<Reply>, bound: string, boundSource: BoundSource): AttemptResult =>
    ({ outcome: { kind: 'granted', grant: g, bound, boundSource }, learned: learnedFrom(g.reply.observed) });

  // 1. A known address: knock at once.
  let bound: { text: string; source: BoundSource } | null = null;
  if (i.publicAddress !== undefined) bound = { text: i.publicAddress, source: 'public' };
  else if (i.known && (i.known.local === undefined || i.known.local === ctx.local)) bound = { text: i.known.address, source: 'observed' };
  const first = bound ? knockExchange(ctx, i.serviceId, parseAddress(bound.text), clock.next('knock')) : null;
  if (first && bound) {
    i.note?.(`knocking on ${ctx.target} bound to ${bound.text} (${bound.source} address)`);
    const g = await first.send(waits(WAITS.knockFirst));
    if (g) return granted(g, bound.text, bound.source);
  }

  // 2. Where am I? The answer carries the address the server sees and its clock. A stored offset
  //    larger than half the probe window may itself be what keeps the probe out: one more with none.
  i.note?.(`asking ${ctx.target} which address it sees (probe)`);
  const storedMs = clock.offsetMs;
  let p = await probeExchange(ctx, clock.next('probe')).send(waits(bound ? WAITS.probeAfterKnock : WAITS.probeFirst));
  if (!p && Math.abs(storedMs) >= PROBE_OFFSET_FALLBACK_MS) {
    clock.offsetMs = 0;
    p = await probeExchange(ctx, clock.next('probe')).send(waits(WAITS.probeCheck));
    clock.offsetMs = storedMs;
  }
  if (!p) return { outcome: { kind: 'silent' } };
  const seen = addressText(p.reply.observed);
  const learned = learnedFrom(p.reply.observed);

  // 3. The clock: the stored offset still fits, or the local clock was set right since, or it is off.
  const measuredMs = Math.round(p.reply.serverTimeMs - p.atMs);
  clock.calibrate(measuredMs, p.reply.windowSec);
  const verdict = clockVerdict(measuredMs, storedMs, p.reply.windowSec);
  if (verdict.kind === 'off') return { outcome: { kind: 'clock', offsetMs: measuredMs }, learned };
  if (verdict.kind === 'reset') {
    i.note?.(`the stored clock offset is stale; using the server's clock as measured now (${measuredMs} ms)`);
    clock.offsetMs = verdict.offsetMs;
  }

  // 4. The address.
  if (bound?.source === 'public' && seen !== bound.text) return { outcome: { kind: 'address-mismatch', given: bound.text, seen }, learned };
  if (first && bound && seen === bound.text && verdict.kind === 'keep') {
    // Nothing changed: the knock or its answer was lost (the server re-sends a stored reply), or it was refused.
    i.note?.(`the server sees ${seen} as expected; sending the same knock again`);
    const g = await first.send(waits(WAITS.knockAgain));
    return g ? granted(g, bound.text, bound.source) : { outcome: { kind: 'refused', seen }, learned };
  }
  const source: BoundSource = bound?.source === 'public' ? 'public' : 'probed';
  i.note?.(`knocking on ${ctx.target} bound to ${seen} (the address it reported)`);
  const g = await knockExchange(ctx, i.serviceId, p.reply.observed, clock.next('knock')).send(waits(WAITS.knockAfterProbe));
  if (g) return granted(g, seen, source);

  // 5. Refused, or did the address move again meanwhile?
  const again = await probeExchange(ctx, clock.next('probe')).send(waits(WAITS.probeCheck));
  if (again && addressText(again.reply.observed) !== seen) {
    return { outcome: { kind: 'address-unstable', seen: [seen, addressText(again.reply.observed)] }, learned: learnedFrom(again.reply.observed) };
  }
  return { outcome: { kind: 'refused', seen }, learned };
}

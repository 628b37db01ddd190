/**
 * One exchange with one gateway address: a knock (bound to an address) or a probe, built once —
 * its three SYNs from the local source address, in the send order of frames.ts — then sent byte
 * for byte up to once per wait (an identical retransmit gets the server's stored reply, or the same
 * answer again), resolving the first payload that opens under the device's reply key as the kind
 * expected: a grant for a knock, an address report for a probe. Anything else is ignored.
 */
import type { AddressBytes, IpFamily } from '../../shared/net/address.js';
import { encodeKnock, encodeProbe, knockIsns, type Knock, type KnockKeys } from '../../shared/protocol/knock.js';
import { openAnswer, type AddressReport, type OpenedReply, type Reply } from '../../shared/protocol/reply.js';
import type { Sequence } from '../../shared/protocol/sequence.js';
import { readEphemeralPorts, type HostSyn } from '../transport/host-tcp.js';
import type { KnockTransport } from '../transport/send.js';
import { buildKnockFrames } from './frames.js';
import type { RandomBytes } from './wire.js';

/** What the helper accepts per wait (ms). */
export const MIN_WAIT_MS = 100;
export const MAX_WAIT_MS = 10_000;
const clampWait = (ms: number): number => Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, Math.round(ms)));

export interface ExchangeContext {
  readonly family: IpFamily;
  /** The local source address the kernel uses towards `target`. */
  readonly local: string;
  readonly target: string;
  /** The window, MSS and options of this host's SYNs to `target`, read once per target (readSynFields). */
  readonly synFields: HostSyn['fields'];
  readonly keys: KnockKeys;
  readonly replyKey: Buffer;
  readonly sequence: Sequence;
  readonly transport: KnockTransport;
  readonly random: RandomBytes;
  readonly now: () => number;
}

export interface Answer<R> {
  readonly reply: R;
  /** Local clock when it arrived (ms). */
  readonly atMs: number;
}

export interface Exchange<R> {
  /** Send (again) once per wait until an answer opens; null when none did. */
  send(waits: readonly number[]): Promise<Answer<R> | null>;
}

function exchange<R>(ctx: ExchangeContext, knock: Knock, pick: (r: OpenedReply) => R | null): Exchange<R> {
  // The ports in use change between exchanges: read them afresh for each.
  const host = { fields: ctx.synFields, ports: readEphemeralPorts() };
  const frames = buildKnockFrames(ctx.family, ctx.local, ctx.target, knock, ctx.random, host);
  const binding = { sequence: ctx.sequence, isns: knockIsns(knock) };
  let got: Answer<R> | null = null;
  const accept = (payload: Buffer): boolean => {
    if (got) return true;
    try {
      const reply = pick(openAnswer(ctx.replyKey, payload, binding));
      if (reply === null) return false;
      got = { reply, atMs: ctx.now() };
      return true;
    } catch {
      return false; // not ours, or tampered: keep waiting
    }
  };
  return {
    async send(waits) {
      for (const wait of waits) {
        if (got) return got;
        const payload = await ctx.transport(ctx.family, frames.packets, clampWait(wait), accept);
        if (payload !== null && accept(payload)) return got;
      }
      return got;
    },
  };
}

/** A knock for `serviceId`, bound to `bound`, at second `sec`; answered by a grant. */
export function knockExchange(ctx: ExchangeContext, serviceId: number, bound: AddressBytes, sec: number): Exchange<Reply> {
  const knock = encodeKnock({ keys: ctx.keys, sequence: ctx.sequence, serviceId, nowSec: sec, boundAddress: bound });
  return exchange(ctx, knock, (r) => (r.kind === 'grant' ? r : null));
}

/** A probe at second `sec`; answered by an address report. */
export function probeExchange(ctx: ExchangeContext, sec: number): Exchange<AddressReport> {
  const probe = encodeProbe({ keys: ctx.keys, sequence: ctx.sequence, nowSec: sec });
  return exchange(ctx, probe, (r) => (r.kind === 'address' ? r : null));
}

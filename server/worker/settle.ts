/**
 * Which verifier decisions settle pending packets: every decision reached after the MAC verified
 * (a grant, a re-send, a probe's answer, and a rejection for a stale time, a replay, a disabled
 * user, a service, ...) is about the device's own packets, and that knock is decided. The worker
 * then drops every pending packet of that sequence from that source, so the leftovers of a
 * client's earlier tries on it (a knock with a stale clock or bound to an old NAT address, a probe)
 * are not combined with its next packets into MAC failures, which would spend the sequence's MAC
 * allowance (docs/protocol.md §4, §7) and shut the client's own next knock out.
 * Decisions before the MAC settle nothing: anyone can send those packets.
 */
import type { Sequence } from '../../shared/protocol/sequence.js';
import type { PendingPacket } from './assembler.js';
import type { Decision, RejectReason } from './verifier.js';

const BEFORE_MAC: ReadonlySet<RejectReason> = new Set<RejectReason>(['NO_SEQUENCE', 'MAC_RATE', 'KNOCK_SHAPE', 'KNOCK_MAC', 'IN_FLIGHT']);

export function settles(d: Decision): boolean {
  return d.kind !== 'reject' || !BEFORE_MAC.has(d.reason);
}

/** True for a pending packet at one of the sequence's ports with that port's tag. */
export function inSequence(s: Sequence): (q: PendingPacket) => boolean {
  return (q) => [0, 1, 2].some((i) => q.dstPort === s.ports[i] && q.isn >>> 24 === s.tags[i]);
}

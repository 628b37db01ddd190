/**
 * Turns a knock (three destination ports + ISNs, in sequence order) into the three IP packets the
 * transport sends, in send order: the packets for ports[0] and ports[1] in random order, then the
 * packet for ports[2], which the server answers (from ports[2] to that packet's source port).
 * Source ports are random ephemeral ports (Linux's 32768..60999), distinct within the knock.
 */
import { uniformInt } from '../../shared/protocol/sequence.js';
import type { Knock } from '../../shared/protocol/knock.js';
import { synBuilder, type Family, type RandomBytes } from './wire.js';

export const EPHEMERAL_FIRST = 32768;
export const EPHEMERAL_LAST = 60999;

export interface KnockFrames {
  /** Full IP packets in send order; the last one is the packet to ports[2]. */
  readonly packets: readonly Buffer[];
  /** Source port of packet i of the knock (sequence order). */
  readonly srcPorts: readonly [number, number, number];
}

/** Three distinct random ephemeral ports. */
export function ephemeralPorts(random: RandomBytes): [number, number, number] {
  const span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
  const picked: number[] = [];
  while (picked.length < 3) {
    const p = EPHEMERAL_FIRST + uniformInt(span, random);
    if (!picked.includes(p)) picked.push(p);
  }
  return picked as [number, number, number];
}

/** `src` is the local address the kernel uses towards `dst` (even when the knock binds a public one). */
export function buildKnockFrames(family: Family, src: string, dst: string, knock: Knock, random: RandomBytes): KnockFrames {
  const srcPorts = ephemeralPorts(random);
  const build = synBuilder(family, random);
  const bySeq = knock.map((k, i) => build({ family, src, dst, srcPort: srcPorts[i]!, dstPort: k.dstPort, isn: k.isn }));
  const swap = (random(1)[0]! & 1) === 1;
  const packets = swap ? [bySeq[1]!, bySeq[0]!, bySeq[2]!] : [bySeq[0]!, bySeq[1]!, bySeq[2]!];
  return { packets, srcPorts };
}

/**
 * Turns a knock (three destination ports + ISNs, in sequence order) into the three IP packets the
 * transport sends, in send order: the packets for ports[0] and ports[1] in random order, then the
 * packet for ports[2], which the server answers (from ports[2] to that packet's source port).
 * Every SYN looks like this host's own connect() to the server (docs/protocol.md §13): its window,
 * MSS and options come from the host's settings and route, its source port from the kernel's
 * ephemeral range, drawn like the kernel does (ports of the range start's parity first), never a
 * reserved port or one in use, distinct within the knock.
 */
import { TumblerError } from '../../shared/errors.js';
import { uniformInt } from '../../shared/protocol/sequence.js';
import type { Knock } from '../../shared/protocol/knock.js';
import { LINUX_EPHEMERAL_PORTS, readHostSyn, type EphemeralPorts, type HostSyn } from '../transport/host-tcp.js';
import { synBuilder, type Family, type RandomBytes } from './wire.js';

export interface KnockFrames {
  /** Full IP packets in send order; the last one is the packet to ports[2]. */
  readonly packets: readonly Buffer[];
  /** Source port of packet i of the knock (sequence order). */
  readonly srcPorts: readonly [number, number, number];
}

/** Random draws before falling back to a scan of the range (only a nearly full range needs it). */
const MAX_DRAWS = 64;

/** Nearly full range: the first free port from `start` on, either parity (the kernel's second pass); -1 if none. */
function firstFreeFrom(range: EphemeralPorts, start: number, free: (p: number) => boolean): number {
  const span = range.last - range.first + 1;
  for (let i = 0; i < span; i++) {
    const p = range.first + ((start + i) % span);
    if (free(p)) return p;
  }
  return -1;
}

/** Three distinct free ports of `range`, preferring the parity of range.first as Linux's connect() does. */
export function ephemeralPorts(random: RandomBytes, range: EphemeralPorts = LINUX_EPHEMERAL_PORTS): [number, number, number] {
  const picked: number[] = [];
  const free = (p: number): boolean => !range.excluded.has(p) && !picked.includes(p);
  const sameParity = Math.floor((range.last - range.first) / 2) + 1;
  while (picked.length < 3) {
    let port = -1;
    for (let i = 0; i < MAX_DRAWS && port < 0; i++) {
      const p = range.first + 2 * uniformInt(sameParity, random);
      if (free(p)) port = p;
    }
    if (port < 0) port = firstFreeFrom(range, uniformInt(range.last - range.first + 1, random), free);
    if (port < 0) throw new TumblerError('NO_EPHEMERAL_PORT', `no free source port in ${range.first}-${range.last}`);
    picked.push(port);
  }
  return picked as [number, number, number];
}

/**
 * `src` is the local address the kernel uses towards `dst` (even when the knock binds a public
 * one). `host` defaults to what this host's kernel would send to `dst` (readHostSyn).
 */
export function buildKnockFrames(family: Family, src: string, dst: string, knock: Knock, random: RandomBytes,
  host: HostSyn = readHostSyn(family, dst)): KnockFrames {
  const srcPorts = ephemeralPorts(random, host.ports);
  const build = synBuilder(family, random, host.fields);
  const bySeq = knock.map((k, i) => build({ family, src, dst, srcPort: srcPorts[i]!, dstPort: k.dstPort, isn: k.isn }));
  const swap = (random(1)[0]! & 1) === 1;
  const packets = swap ? [bySeq[1]!, bySeq[0]!, bySeq[2]!] : [bySeq[0]!, bySeq[1]!, bySeq[2]!];
  return { packets, srcPorts };
}

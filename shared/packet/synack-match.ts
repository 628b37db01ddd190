/**
 * Recognising the server's reply to a knock: the SYN-ACK that answers the knock's last SYN — from
 * its destination to its source, ports swapped, flags exactly SYN+ACK, ack = ISN + 1, a payload of
 * 1..MAX_SYNACK_PAYLOAD bytes (docs/protocol.md §10). The client's raw-socket transport matches
 * with this; the C helper matches the same packet (client/helper/README.md). Pure.
 */
import { ipv6PacketAround } from './build.js';
import { MAX_SYNACK_PAYLOAD, TCP_ACK, TCP_SYN } from './constants.js';
import { parseIpTcp, type ParsedTcp, type TcpEnds } from './parse.js';

/** The fields of a knock SYN that its answer must mirror. */
export interface SentSyn extends TcpEnds {
  /** Unsigned 32-bit. */
  readonly isn: number;
}

/** The SentSyn of one of our own SYNs (a full IP packet). Throws PACKET_* when it does not parse. */
export function describeSyn(packet: Buffer): SentSyn {
  const p = parseIpTcp(packet);
  return { family: p.family, src: p.src, dst: p.dst, srcPort: p.srcPort, dstPort: p.dstPort, isn: p.seq >>> 0 };
}

function parsedOrNull(packet: Buffer): ParsedTcp | null {
  try {
    return parseIpTcp(packet);
  } catch {
    return null;
  }
}

/** A copy of the payload of `packet` (a full IP packet) when it is the SYN-ACK answering `syn`, else null. */
export function synAckPayload(packet: Buffer, syn: SentSyn): Buffer | null {
  const p = parsedOrNull(packet);
  if (!p || p.family !== syn.family || p.src !== syn.dst || p.dst !== syn.src) return null;
  if (p.srcPort !== syn.dstPort || p.dstPort !== syn.srcPort) return null;
  if (p.flags !== (TCP_SYN | TCP_ACK) || (p.ack >>> 0) !== ((syn.isn + 1) >>> 0)) return null;
  if (p.payload.length < 1 || p.payload.length > MAX_SYNACK_PAYLOAD) return null;
  return p.payload; // parseIpTcp's own copy
}

/**
 * synAckPayload for a TCP segment received on an IPv6 raw socket, which delivers no IP header:
 * `from` is the sender's address as the socket reported it (a zone suffix is ignored).
 */
export function synAckPayloadFromSegment(segment: Buffer, from: string, syn: SentSyn): Buffer | null {
  if (syn.family !== 6) return null;
  let packet: Buffer;
  try {
    packet = ipv6PacketAround(segment, from.split('%')[0]!, syn.src);
  } catch {
    return null;
  }
  return synAckPayload(packet, syn);
}

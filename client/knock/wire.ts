/**
 * The client's one doorway to the IP/TCP codec (shared/packet): builds the three knock SYNs and
 * recognises the server's SYN-ACK. Everything else in the client speaks `Knock`, addresses and
 * payloads, so a codec change touches only this file.
 */
import {
  buildSyn, chooseSynShape, describeSyn, formatAddress as fmt, nextConnection, synAckPayload,
  synAckPayloadFromSegment, type IpFamily, type LinuxSynFields, type SentSyn,
} from '../../shared/packet/tcp.js';
import type { AddressBytes } from '../../shared/protocol/knock.js';
import type { RandomBytes } from '../../shared/protocol/sequence.js';

export type { IpFamily as Family, RandomBytes, SentSyn };

/** Canonical text of an address (IPv6 compressed). */
export function addressText(a: AddressBytes): string {
  return fmt(a.family, a.bytes);
}

/**
 * One builder per knock: the SYNs share the host's window, MSS and options and one timestamp
 * clock (`host`, default Linux's defaults), and each gets its own IP ID or flow label, as Linux's
 * connect()s do.
 */
export function synBuilder(family: IpFamily, random: RandomBytes, host?: LinuxSynFields): (s: SentSyn) => Buffer {
  let shape = chooseSynShape(family, random, host);
  let first = true;
  return (s) => {
    if (!first) shape = nextConnection(shape, random);
    first = false;
    return buildSyn({ family: s.family, src: s.src, dst: s.dst, srcPort: s.srcPort, dstPort: s.dstPort, isn: s.isn, shape });
  };
}

/** Parses one of our own SYNs (a full IP packet). */
export { describeSyn };

/**
 * The payload of `packet` (a full IP packet) when it is the SYN-ACK answering `syn`, else null;
 * `matchReplySegment` for a bare TCP segment from an IPv6 raw socket and its sender's address.
 */
export { synAckPayload as matchReply, synAckPayloadFromSegment as matchReplySegment };

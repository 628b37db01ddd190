/**
 * The client's one doorway to the IP/TCP codec (shared/packet): builds the three knock SYNs and
 * recognises the server's SYN-ACK. Everything else in the client speaks `Knock`, addresses and
 * payloads, so a codec change touches only this file.
 */
import {
  buildSyn, chooseSynShape, describeSyn, formatAddress as fmt, nextConnection, parseAddress as parse, synAckPayload,
  synAckPayloadFromSegment, type IpFamily, type LinuxSynFields, type SentSyn,
} from '../../shared/packet/tcp.js';
import { TumblerError } from '../../shared/errors.js';
import type { AddressBytes } from '../../shared/protocol/knock.js';
import type { RandomBytes } from '../../shared/protocol/sequence.js';

export type { IpFamily as Family, RandomBytes, SentSyn };

/** "192.0.2.1" / "2001:db8::1" → family and bytes; TumblerError BAD_ADDRESS when not an IP literal. */
export function addressBytes(address: string): AddressBytes {
  try {
    const a = parse(address);
    return { family: a.family, bytes: Buffer.from(a.bytes) };
  } catch {
    throw new TumblerError('BAD_ADDRESS', `not an IP address: ${JSON.stringify(address.slice(0, 64))}`);
  }
}

/** Canonical text of an address (IPv6 compressed). */
export function addressText(a: AddressBytes): string {
  return fmt(a.family, a.bytes);
}

/** What one knock SYN is built from; its answer must mirror the same fields. */
export type SynSpec = SentSyn;

/**
 * One builder per knock: the SYNs share the host's window, MSS and options and one timestamp
 * clock (`host`, default Linux's defaults), and each gets its own IP ID or flow label, as Linux's
 * connect()s do.
 */
export function synBuilder(family: IpFamily, random: RandomBytes, host?: LinuxSynFields): (s: SynSpec) => Buffer {
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

/**
 * The client's one doorway to the IP/TCP codec (shared/packet): builds the three knock SYNs and
 * recognises the server's SYN-ACK. Everything else in the client speaks `Knock`, addresses and
 * payloads, so a codec change touches only this file.
 */
import { buildSyn, formatAddress as fmt, parseAddress as parse, parseIpTcp } from '../../shared/packet/tcp.js';
import { chooseSynShape } from '../../shared/packet/syn-shape.js';
import { TumblerError } from '../../shared/errors.js';
import type { AddressBytes } from '../../shared/protocol/knock.js';

export type Family = 4 | 6;
export type RandomBytes = (n: number) => Buffer;

const TCP_FLAGS_SYN_ACK = 0x12;
export const MAX_REPLY_PAYLOAD = 512;

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

export interface SynSpec {
  readonly family: Family;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly isn: number;
}

/** One shape per knock: the three SYNs look like one OS's connects. */
export function synBuilder(family: Family, random: RandomBytes): (s: SynSpec) => Buffer {
  const shape = chooseSynShape(family, random);
  return (s) => buildSyn({ family: s.family, src: s.src, dst: s.dst, srcPort: s.srcPort, dstPort: s.dstPort, isn: s.isn, shape });
}

/** The fields of an outgoing knock SYN the reply must match: the same fields it was built from. */
export type SentSyn = SynSpec;

/** Parses one of our own SYNs (a full IP packet). */
export function describeSyn(packet: Buffer): SentSyn {
  const p = parseIpTcp(packet);
  return { family: p.family, src: p.src, dst: p.dst, srcPort: p.srcPort, dstPort: p.dstPort, isn: p.seq >>> 0 };
}

/**
 * The payload of `packet` when it is the SYN-ACK answering `syn` (from its destination to its
 * source, ports swapped, flags exactly SYN+ACK, ack = ISN + 1, payload 1..512 bytes), else null.
 * `packet` is a full IP packet (IPv4 raw receive; IPv6 receive is rebuilt by the caller).
 */
export function matchReply(packet: Buffer, syn: SentSyn): Buffer | null {
  let p;
  try {
    p = parseIpTcp(packet);
  } catch {
    return null;
  }
  if (p.family !== syn.family || p.src !== syn.dst || p.dst !== syn.src) return null;
  if (p.srcPort !== syn.dstPort || p.dstPort !== syn.srcPort) return null;
  if (p.flags !== TCP_FLAGS_SYN_ACK || (p.ack >>> 0) !== ((syn.isn + 1) >>> 0)) return null;
  if (p.payload.length < 1 || p.payload.length > MAX_REPLY_PAYLOAD) return null;
  return Buffer.from(p.payload);
}

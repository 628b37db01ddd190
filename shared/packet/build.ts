/**
 * Builders for the two packets Tumbler sends: the knock SYN (client, Linux look from a SynShape)
 * and the reply SYN-ACK with a payload (server). Full IP packets, no link header, both checksums
 * filled in. Pure. Bad arguments throw PACKET_BUILD_INVALID or ADDRESS_INVALID.
 */
import { TumblerError } from '../errors.js';
import { addressBytesOf, type IpFamily } from '../net/address.js';
import { tcpChecksum, internetChecksum } from './checksum.js';
import {
  DEFAULT_TTL, IP_VERSION_4, IP_VERSION_6, IPPROTO_TCP, IPV4_ADDR_LEN, IPV4_IHL_NO_OPTIONS, IPV4_FLAG_DF, IPV4_HEADER_LEN, IPV4_OFF_CHECKSUM, IPV4_OFF_DST,
  IPV4_OFF_FLAGS_FRAG, IPV4_OFF_ID, IPV4_OFF_PROTOCOL, IPV4_OFF_SRC, IPV4_OFF_TOTAL_LEN, IPV4_OFF_TTL, IPV6_ADDR_LEN,
  IPV6_FLOW_LABEL_MASK, IPV6_HEADER_LEN, IPV6_OFF_DST, IPV6_OFF_HOP_LIMIT, IPV6_OFF_NEXT_HEADER, IPV6_OFF_PAYLOAD_LEN,
  IPV6_OFF_SRC, IPV6_OFF_VTC_FLOW, LINUX_MSS_V4, LINUX_MSS_V6, LINUX_SYNACK_WINDOW_V4, LINUX_SYNACK_WINDOW_V6,
  MAX_IP_PACKET, TCP_ACK, TCP_HEADER_LEN, TCP_MAX_WSCALE, TCP_OFF_ACK, TCP_OFF_CHECKSUM,
  TCP_OFF_DATA_OFFSET, TCP_OFF_DST_PORT, TCP_OFF_FLAGS, TCP_OFF_OPTIONS, TCP_OFF_SEQ, TCP_OFF_SRC_PORT, TCP_OFF_WINDOW,
  TCP_SYN, TCPOLEN_MSS, TCPOLEN_SACK_PERM, TCPOLEN_TIMESTAMP, TCPOLEN_WSCALE, TCPOPT_MSS, TCPOPT_NOP,
  TCPOPT_SACK_PERM, TCPOPT_TIMESTAMP, TCPOPT_WSCALE,
} from './constants.js';
import type { TcpEnds } from './parse.js';
import type { SynShape } from './syn-shape.js';

export interface BuildSynParams extends TcpEnds {
  /** Initial sequence number, 32 bits (a negative int32 is taken modulo 2^32). */
  readonly isn: number;
  readonly shape: SynShape;
}

export interface BuildSynAckParams extends TcpEnds {
  readonly seq: number;
  readonly ack: number;
  /**
   * TCP payload. The protocol's replies are at most MAX_SYNACK_PAYLOAD (512) bytes; the builder
   * accepts anything that fits in one IP packet (receivers enforce the 512).
   */
  readonly payload: Buffer;
  /** Default 64. */
  readonly ttl?: number;
  /** IPv4 identification; default 0 (what Linux puts in its DF SYN-ACKs). Ignored for IPv6. */
  readonly ipId?: number;
  /** Default 65160 (IPv4) / 64800 (IPv6), Linux's usual SYN-ACK windows. */
  readonly window?: number;
  /** IPv6 flow label; default 0. Ignored for IPv4. */
  readonly flowLabel?: number;
}

function invalid(what: string): TumblerError {
  return new TumblerError('PACKET_BUILD_INVALID', `invalid ${what}`);
}

function uint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw invalid(what);
  return v;
}

/** A 32-bit sequence number: 0..2^32-1, or a negative int32 taken modulo 2^32. */
function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw invalid(what);
  return v >>> 0;
}

function checkFamily(f: unknown): IpFamily {
  if (f !== 4 && f !== 6) throw invalid('family');
  return f;
}

/**
 * Writes the IP header for a TCP segment of `tcpLen` bytes and returns the packet buffer (TCP part
 * zeroed, to be filled by the caller) and the offset of the TCP header.
 */
function ipPacket(
  family: IpFamily, src: Buffer, dst: Buffer, tcpLen: number,
  ip: { ttl: number; ipId: number; df: boolean; flowLabel: number },
): { pkt: Buffer; tcp: number } {
  if (family === 4) {
    const pkt = Buffer.alloc(IPV4_HEADER_LEN + tcpLen);
    pkt[0] = (IP_VERSION_4 << 4) | IPV4_IHL_NO_OPTIONS;
    pkt.writeUInt16BE(IPV4_HEADER_LEN + tcpLen, IPV4_OFF_TOTAL_LEN);
    pkt.writeUInt16BE(ip.ipId, IPV4_OFF_ID);
    pkt.writeUInt16BE(ip.df ? IPV4_FLAG_DF : 0, IPV4_OFF_FLAGS_FRAG);
    pkt[IPV4_OFF_TTL] = ip.ttl;
    pkt[IPV4_OFF_PROTOCOL] = IPPROTO_TCP;
    src.copy(pkt, IPV4_OFF_SRC);
    dst.copy(pkt, IPV4_OFF_DST);
    pkt.writeUInt16BE(internetChecksum(pkt, 0, IPV4_HEADER_LEN), IPV4_OFF_CHECKSUM);
    return { pkt, tcp: IPV4_HEADER_LEN };
  }
  const pkt = Buffer.alloc(IPV6_HEADER_LEN + tcpLen);
  pkt.writeUInt32BE(((IP_VERSION_6 << 28) | (ip.flowLabel & IPV6_FLOW_LABEL_MASK)) >>> 0, IPV6_OFF_VTC_FLOW);
  pkt.writeUInt16BE(tcpLen, IPV6_OFF_PAYLOAD_LEN);
  pkt[IPV6_OFF_NEXT_HEADER] = IPPROTO_TCP;
  pkt[IPV6_OFF_HOP_LIMIT] = ip.ttl;
  src.copy(pkt, IPV6_OFF_SRC);
  dst.copy(pkt, IPV6_OFF_DST);
  return { pkt, tcp: IPV6_HEADER_LEN };
}

/**
 * An IPv6 packet around a TCP segment that arrived without its IP header (IPv6 raw sockets hand
 * over the segment only), so that parseIpTcp can check it against its pseudo-header.
 */
export function ipv6PacketAround(segment: Buffer, src: string, dst: string): Buffer {
  if (!Buffer.isBuffer(segment) || IPV6_HEADER_LEN + segment.length > MAX_IP_PACKET) throw invalid('segment');
  const { pkt, tcp } = ipPacket(6, addressBytesOf(6, src), addressBytesOf(6, dst), segment.length,
    { ttl: DEFAULT_TTL, ipId: 0, df: false, flowLabel: 0 });
  segment.copy(pkt, tcp);
  return pkt;
}

/** Fill the TCP checksum of the segment at pkt[tcp..] (field must be zero). */
function finishTcp(family: IpFamily, pkt: Buffer, tcp: number): Buffer {
  const v4 = family === 4;
  const sum = tcpChecksum(
    pkt, v4 ? IPV4_OFF_SRC : IPV6_OFF_SRC, v4 ? IPV4_OFF_DST : IPV6_OFF_DST, v4 ? IPV4_ADDR_LEN : IPV6_ADDR_LEN,
    tcp, pkt.length - tcp,
  );
  pkt.writeUInt16BE(sum, tcp + TCP_OFF_CHECKSUM);
  return pkt;
}

/**
 * The option list of a Linux SYN (tcp_options_write order): MSS; then SACK_PERM + TIMESTAMP, or
 * NOP NOP TIMESTAMP without SACK, or NOP NOP SACK_PERM without timestamps; then NOP WSCALE.
 * Always a multiple of 4 bytes.
 */
function linuxSynOptionsLen(s: SynShape): number {
  const tsOrSack = s.timestamps ? TCPOLEN_SACK_PERM + TCPOLEN_TIMESTAMP : s.sackPermitted ? 2 + TCPOLEN_SACK_PERM : 0;
  return TCPOLEN_MSS + tsOrSack + (s.wscale === null ? 0 : 1 + TCPOLEN_WSCALE);
}

function writeLinuxSynOptions(pkt: Buffer, at: number, s: SynShape): void {
  let o = at;
  pkt[o] = TCPOPT_MSS;
  pkt[o + 1] = TCPOLEN_MSS;
  pkt.writeUInt16BE(uint(s.mss, 0xffff, 'MSS'), o + 2);
  o += TCPOLEN_MSS;
  if (s.timestamps) {
    // Linux writes SACK_PERM in the two bytes before the timestamp; without SACK they are NOP NOP.
    pkt[o] = s.sackPermitted ? TCPOPT_SACK_PERM : TCPOPT_NOP;
    pkt[o + 1] = s.sackPermitted ? TCPOLEN_SACK_PERM : TCPOPT_NOP;
    o += TCPOLEN_SACK_PERM;
    pkt[o] = TCPOPT_TIMESTAMP;
    pkt[o + 1] = TCPOLEN_TIMESTAMP;
    pkt.writeUInt32BE(u32(s.tsVal, 'tsVal'), o + 2);
    pkt.writeUInt32BE(u32(s.tsEcr, 'tsEcr'), o + 6);
    o += TCPOLEN_TIMESTAMP;
  } else if (s.sackPermitted) {
    pkt[o] = TCPOPT_NOP;
    pkt[o + 1] = TCPOPT_NOP;
    pkt[o + 2] = TCPOPT_SACK_PERM;
    pkt[o + 3] = TCPOLEN_SACK_PERM;
    o += 2 + TCPOLEN_SACK_PERM;
  }
  if (s.wscale !== null) {
    pkt[o] = TCPOPT_NOP;
    pkt[o + 1] = TCPOPT_WSCALE;
    pkt[o + 2] = TCPOLEN_WSCALE;
    pkt[o + 3] = uint(s.wscale, TCP_MAX_WSCALE, 'window scale');
  }
}

/** A knock SYN in the Linux shape: flags exactly SYN, ACK field 0, the options of `shape` in Linux's order. */
export function buildSyn(p: BuildSynParams): Buffer {
  const family = checkFamily(p.family);
  const s = p.shape;
  if (!s || s.family !== family) throw invalid('shape');
  const src = addressBytesOf(family, p.src);
  const dst = addressBytesOf(family, p.dst);
  const srcPort = uint(p.srcPort, 0xffff, 'source port');
  const dstPort = uint(p.dstPort, 0xffff, 'destination port');
  const isn = u32(p.isn, 'ISN');
  const tcpLen = TCP_HEADER_LEN + linuxSynOptionsLen(s);
  const { pkt, tcp } = ipPacket(family, src, dst, tcpLen, {
    ttl: uint(s.ttl, 0xff, 'TTL'), ipId: uint(s.ipId, 0xffff, 'IP ID'), df: s.df,
    flowLabel: uint(s.flowLabel, IPV6_FLOW_LABEL_MASK, 'flow label'),
  });
  pkt.writeUInt16BE(srcPort, tcp + TCP_OFF_SRC_PORT);
  pkt.writeUInt16BE(dstPort, tcp + TCP_OFF_DST_PORT);
  pkt.writeUInt32BE(isn, tcp + TCP_OFF_SEQ);
  pkt[tcp + TCP_OFF_DATA_OFFSET] = (tcpLen / 4) << 4;
  pkt[tcp + TCP_OFF_FLAGS] = TCP_SYN;
  pkt.writeUInt16BE(uint(s.window, 0xffff, 'window'), tcp + TCP_OFF_WINDOW);
  writeLinuxSynOptions(pkt, tcp + TCP_OFF_OPTIONS, s);
  return finishTcp(family, pkt, tcp);
}

/** A reply SYN-ACK: flags exactly SYN+ACK, one MSS option, `payload` as TCP data. */
export function buildSynAck(p: BuildSynAckParams): Buffer {
  const family = checkFamily(p.family);
  const src = addressBytesOf(family, p.src);
  const dst = addressBytesOf(family, p.dst);
  const v4 = family === 4;
  const tcpLen = TCP_HEADER_LEN + TCPOLEN_MSS + (Buffer.isBuffer(p.payload) ? p.payload.length : 0);
  if (!Buffer.isBuffer(p.payload) || (v4 ? IPV4_HEADER_LEN : IPV6_HEADER_LEN) + tcpLen > MAX_IP_PACKET) throw invalid('payload');
  const { pkt, tcp } = ipPacket(family, src, dst, tcpLen, {
    ttl: uint(p.ttl ?? DEFAULT_TTL, 0xff, 'TTL'), ipId: uint(p.ipId ?? 0, 0xffff, 'IP ID'), df: true,
    flowLabel: uint(p.flowLabel ?? 0, IPV6_FLOW_LABEL_MASK, 'flow label'),
  });
  pkt.writeUInt16BE(uint(p.srcPort, 0xffff, 'source port'), tcp + TCP_OFF_SRC_PORT);
  pkt.writeUInt16BE(uint(p.dstPort, 0xffff, 'destination port'), tcp + TCP_OFF_DST_PORT);
  pkt.writeUInt32BE(u32(p.seq, 'sequence number'), tcp + TCP_OFF_SEQ);
  pkt.writeUInt32BE(u32(p.ack, 'acknowledgment number'), tcp + TCP_OFF_ACK);
  pkt[tcp + TCP_OFF_DATA_OFFSET] = ((TCP_HEADER_LEN + TCPOLEN_MSS) / 4) << 4;
  pkt[tcp + TCP_OFF_FLAGS] = TCP_SYN | TCP_ACK;
  pkt.writeUInt16BE(uint(p.window ?? (v4 ? LINUX_SYNACK_WINDOW_V4 : LINUX_SYNACK_WINDOW_V6), 0xffff, 'window'), tcp + TCP_OFF_WINDOW);
  const o = tcp + TCP_OFF_OPTIONS;
  pkt[o] = TCPOPT_MSS;
  pkt[o + 1] = TCPOLEN_MSS;
  pkt.writeUInt16BE(v4 ? LINUX_MSS_V4 : LINUX_MSS_V6, o + 2);
  p.payload.copy(pkt, o + TCPOLEN_MSS);
  return finishTcp(family, pkt, tcp);
}

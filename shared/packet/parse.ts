/**
 * Parser for one IP packet (IPv4 or IPv6) carrying TCP. Trusts no length field: every offset is
 * checked against the buffer before it is read, and any malformed input throws a TumblerError
 * with a PACKET_* code (see `parseIpTcp`). Hand-decoded with direct byte reads for the capture
 * loop; the returned options and payload are copies (pcap reuses its buffer).
 */
import { TumblerError } from '../errors.js';
import { formatIPv4At, formatIPv6At, type IpFamily } from '../net/address.js';
import { internetChecksum, tcpChecksum } from './checksum.js';
import {
  IPPROTO_TCP, IPV4_ADDR_LEN, IPV4_FLAG_MF, IPV4_FRAG_OFFSET_MASK, IPV4_HEADER_LEN, IPV4_IHL_NO_OPTIONS, IPV4_OFF_DST,
  IPV4_OFF_FLAGS_FRAG, IPV4_OFF_ID, IPV4_OFF_PROTOCOL, IPV4_OFF_SRC, IPV4_OFF_TOTAL_LEN, IPV4_OFF_TTL, IPV6_ADDR_LEN,
  IPV6_EXTENSION_HEADERS, IPV6_HEADER_LEN, IPV6_OFF_DST, IPV6_OFF_HOP_LIMIT, IPV6_OFF_NEXT_HEADER,
  IPV6_OFF_PAYLOAD_LEN, IPV6_OFF_SRC, IP_VERSION_4, IP_VERSION_6, MAX_IP_PACKET, TCP_HEADER_LEN,
  TCP_MIN_DATA_OFFSET, TCP_OFF_ACK, TCP_OFF_DATA_OFFSET, TCP_OFF_DST_PORT, TCP_OFF_FLAGS, TCP_OFF_OPTIONS,
  TCP_OFF_SEQ, TCP_OFF_SRC_PORT, TCP_OFF_WINDOW,
} from './constants.js';
import { checkTcpOptions } from './options.js';

/** The two ends of a TCP segment. Addresses in canonical text: dotted quad, or RFC 5952 IPv6. */
export interface TcpEnds {
  readonly family: IpFamily;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
}

export interface ParsedTcp extends TcpEnds {
  /** Unsigned 32-bit. */
  readonly seq: number;
  readonly ack: number;
  /** Byte 13 (CWR..FIN, 0x80..0x01) plus AE/NS as 0x100. */
  readonly flags: number;
  readonly window: number;
  /** TTL (IPv4) or hop limit (IPv6). */
  readonly ttl: number;
  /** IPv4 identification; 0 for IPv6. */
  readonly ipId: number;
  /** The raw option bytes (data offset x 4 - 20), a copy. */
  readonly tcpOptions: Buffer;
  /** The TCP payload, a copy. */
  readonly payload: Buffer;
}

export interface ParseOptions {
  /** Check the IPv4 header checksum and the TCP checksum (default true). */
  readonly verifyChecksum?: boolean;
}

const EMPTY = Buffer.alloc(0);

/** A copy of buf[from, to) (pcap reuses `buf`); the shared empty buffer when there is nothing. */
function copyOf(buf: Buffer, from: number, to: number): Buffer {
  if (to <= from) return EMPTY;
  const out = Buffer.allocUnsafe(to - from);
  buf.copy(out, 0, from, to);
  return out;
}

function fail(code: string, message: string): never {
  throw new TumblerError(code, message);
}

/**
 * Parse `buf` as one IP packet carrying TCP. Bytes after the IP length (link padding) are ignored.
 * Throws TumblerError:
 *   PACKET_OVERSIZE     buffer longer than 65535 bytes
 *   PACKET_TRUNCATED    shorter than the fixed IP header, or the IP payload shorter than a TCP header
 *   PACKET_BAD_VERSION  IP version not 4 or 6 (or not the one the link layer announced)
 *   PACKET_BAD_LENGTH   IP total/payload length inconsistent with the buffer; TCP data offset < 5 or past the end
 *   PACKET_IP_OPTIONS   IPv4 IHL != 5; IPv6 extension header
 *   PACKET_FRAGMENT     IPv4 MF set or fragment offset != 0
 *   PACKET_NOT_TCP      another upper-layer protocol
 *   PACKET_CHECKSUM     IPv4 header or TCP checksum wrong (unless verifyChecksum === false)
 *   PACKET_BAD_OPTIONS  TCP option list malformed
 */
export function parseIpTcp(buf: Buffer, opts?: ParseOptions): ParsedTcp {
  return parseAt(buf, 0, buf.length, opts?.verifyChecksum !== false, 0);
}

/**
 * parseIpTcp on buf[start, end) without slicing (parseFrame's entry). `expectVersion` is the IP
 * version the link layer announced (0: any); another version is PACKET_BAD_VERSION.
 */
export function parseAt(buf: Buffer, start: number, end: number, verify: boolean, expectVersion: number): ParsedTcp {
  const avail = end - start;
  if (avail > MAX_IP_PACKET) fail('PACKET_OVERSIZE', 'IP packet larger than 65535 bytes');
  if (avail < 1) fail('PACKET_TRUNCATED', 'empty packet');
  const version = buf[start]! >> 4;
  if (version !== IP_VERSION_4 && version !== IP_VERSION_6) fail('PACKET_BAD_VERSION', 'not IPv4 or IPv6');
  if (expectVersion !== 0 && expectVersion !== version) fail('PACKET_BAD_VERSION', 'IP version does not match the link type');

  let family: IpFamily;
  let tcp: number; // offset of the TCP header
  let ipEnd: number; // end of the IP packet (before any padding)
  let ttl: number;
  let ipId: number;
  let srcOff: number;
  let dstOff: number;
  let addrLen: number;
  if (version === IP_VERSION_4) {
    if (avail < IPV4_HEADER_LEN) fail('PACKET_TRUNCATED', 'shorter than an IPv4 header');
    if ((buf[start]! & 0x0f) !== IPV4_IHL_NO_OPTIONS) fail('PACKET_IP_OPTIONS', 'IPv4 header length is not 20');
    const total = (buf[start + IPV4_OFF_TOTAL_LEN]! << 8) | buf[start + IPV4_OFF_TOTAL_LEN + 1]!;
    if (total < IPV4_HEADER_LEN || total > avail) fail('PACKET_BAD_LENGTH', 'IPv4 total length does not fit the buffer');
    const frag = (buf[start + IPV4_OFF_FLAGS_FRAG]! << 8) | buf[start + IPV4_OFF_FLAGS_FRAG + 1]!;
    if (frag & (IPV4_FLAG_MF | IPV4_FRAG_OFFSET_MASK)) fail('PACKET_FRAGMENT', 'IPv4 fragment');
    if (buf[start + IPV4_OFF_PROTOCOL] !== IPPROTO_TCP) fail('PACKET_NOT_TCP', 'not TCP');
    if (verify && internetChecksum(buf, start, start + IPV4_HEADER_LEN) !== 0) fail('PACKET_CHECKSUM', 'bad IPv4 header checksum');
    family = 4;
    tcp = start + IPV4_HEADER_LEN;
    ipEnd = start + total;
    ttl = buf[start + IPV4_OFF_TTL]!;
    ipId = (buf[start + IPV4_OFF_ID]! << 8) | buf[start + IPV4_OFF_ID + 1]!;
    srcOff = start + IPV4_OFF_SRC;
    dstOff = start + IPV4_OFF_DST;
    addrLen = IPV4_ADDR_LEN;
  } else {
    if (avail < IPV6_HEADER_LEN) fail('PACKET_TRUNCATED', 'shorter than an IPv6 header');
    const payloadLen = (buf[start + IPV6_OFF_PAYLOAD_LEN]! << 8) | buf[start + IPV6_OFF_PAYLOAD_LEN + 1]!;
    if (IPV6_HEADER_LEN + payloadLen > avail) fail('PACKET_BAD_LENGTH', 'IPv6 payload length does not fit the buffer');
    const next = buf[start + IPV6_OFF_NEXT_HEADER]!;
    if (next !== IPPROTO_TCP) {
      if (IPV6_EXTENSION_HEADERS.has(next)) fail('PACKET_IP_OPTIONS', 'IPv6 extension header');
      fail('PACKET_NOT_TCP', 'not TCP');
    }
    family = 6;
    tcp = start + IPV6_HEADER_LEN;
    ipEnd = tcp + payloadLen;
    ttl = buf[start + IPV6_OFF_HOP_LIMIT]!;
    ipId = 0;
    srcOff = start + IPV6_OFF_SRC;
    dstOff = start + IPV6_OFF_DST;
    addrLen = IPV6_ADDR_LEN;
  }

  const tcpLen = ipEnd - tcp;
  if (tcpLen < TCP_HEADER_LEN) fail('PACKET_TRUNCATED', 'IP payload shorter than a TCP header');
  const dataOffset = buf[tcp + TCP_OFF_DATA_OFFSET]! >> 4;
  const tcpHeaderLen = dataOffset * 4;
  if (dataOffset < TCP_MIN_DATA_OFFSET || tcpHeaderLen > tcpLen) fail('PACKET_BAD_LENGTH', 'TCP data offset out of range');
  if (verify && tcpChecksum(buf, srcOff, dstOff, addrLen, tcp, tcpLen) !== 0) fail('PACKET_CHECKSUM', 'bad TCP checksum');
  const optStart = tcp + TCP_OFF_OPTIONS;
  const payloadStart = tcp + tcpHeaderLen;
  if (!checkTcpOptions(buf, optStart, payloadStart)) fail('PACKET_BAD_OPTIONS', 'malformed TCP options');

  return {
    family,
    src: family === 4 ? formatIPv4At(buf, srcOff) : formatIPv6At(buf, srcOff),
    dst: family === 4 ? formatIPv4At(buf, dstOff) : formatIPv6At(buf, dstOff),
    srcPort: (buf[tcp + TCP_OFF_SRC_PORT]! << 8) | buf[tcp + TCP_OFF_SRC_PORT + 1]!,
    dstPort: (buf[tcp + TCP_OFF_DST_PORT]! << 8) | buf[tcp + TCP_OFF_DST_PORT + 1]!,
    seq: buf.readUInt32BE(tcp + TCP_OFF_SEQ),
    ack: buf.readUInt32BE(tcp + TCP_OFF_ACK),
    flags: buf[tcp + TCP_OFF_FLAGS]! | ((buf[tcp + TCP_OFF_DATA_OFFSET]! & 1) << 8),
    window: (buf[tcp + TCP_OFF_WINDOW]! << 8) | buf[tcp + TCP_OFF_WINDOW + 1]!,
    ttl,
    ipId,
    tcpOptions: copyOf(buf, optStart, payloadStart),
    payload: copyOf(buf, payloadStart, ipEnd),
  };
}

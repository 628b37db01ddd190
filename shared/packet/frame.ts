/**
 * Link-layer framing for captured packets: strips an Ethernet header (with at most one 802.1Q /
 * 802.1ad tag), a Linux cooked header (v1, 16 bytes; v2, 20 bytes) or nothing (raw IP), then
 * parses the IP/TCP packet. Pure; no slicing, offsets only. Errors are TumblerError PACKET_* codes:
 * those of parseIpTcp, plus PACKET_NOT_IP (ethertype not IPv4/IPv6) and PACKET_LINK_TYPE.
 */
import { TumblerError } from '../errors.js';
import type { IpFamily } from '../net/address.js';
import {
  ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN, ETH_HEADER_LEN, ETH_OFF_TYPE, SLL2_HEADER_LEN,
  SLL2_OFF_PROTOCOL, SLL_HEADER_LEN, SLL_OFF_PROTOCOL, VLAN_TAG_LEN,
} from './constants.js';
import { parseAt, type ParsedTcp, type ParseOptions } from './parse.js';

/** libpcap link-type names Tumbler understands (DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW). */
export type LinkType = 'EN10MB' | 'LINUX_SLL' | 'LINUX_SLL2' | 'RAW';

function truncated(): never {
  throw new TumblerError('PACKET_TRUNCATED', 'shorter than its link header');
}

function familyOf(ethertype: number): IpFamily {
  if (ethertype === ETHERTYPE_IPV4) return 4;
  if (ethertype === ETHERTYPE_IPV6) return 6;
  throw new TumblerError('PACKET_NOT_IP', 'not an IP frame');
}

function u16(buf: Buffer, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

/**
 * Where the IP packet starts in `buf` (low 16 bits) and which IP version the link layer announced
 * (bits 16+, 0 for RAW), packed in one number so the capture loop allocates nothing here.
 */
function ipOffset(buf: Buffer, linkType: LinkType): number {
  switch (linkType) {
    case 'EN10MB': {
      if (buf.length < ETH_HEADER_LEN) truncated();
      let type = u16(buf, ETH_OFF_TYPE);
      let start = ETH_HEADER_LEN;
      if (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) {
        if (buf.length < ETH_HEADER_LEN + VLAN_TAG_LEN) truncated();
        type = u16(buf, ETH_OFF_TYPE + VLAN_TAG_LEN);
        start += VLAN_TAG_LEN;
      }
      return start | (familyOf(type) << 16);
    }
    case 'LINUX_SLL':
      if (buf.length < SLL_HEADER_LEN) truncated();
      return SLL_HEADER_LEN | (familyOf(u16(buf, SLL_OFF_PROTOCOL)) << 16);
    case 'LINUX_SLL2':
      if (buf.length < SLL2_HEADER_LEN) truncated();
      return SLL2_HEADER_LEN | (familyOf(u16(buf, SLL2_OFF_PROTOCOL)) << 16);
    case 'RAW':
      return 0;
    default:
      throw new TumblerError('PACKET_LINK_TYPE', 'unsupported link type');
  }
}

/**
 * Parse a captured frame of `linkType`: link header off, then parseIpTcp on the rest (trailing
 * padding ignored). A frame longer than 65535 bytes plus its link header is PACKET_OVERSIZE.
 */
export function parseFrame(buf: Buffer, linkType: LinkType, opts?: ParseOptions): ParsedTcp {
  const at = ipOffset(buf, linkType);
  return parseAt(buf, at & 0xffff, buf.length, opts?.verifyChecksum !== false, at >>> 16);
}

/**
 * Wire constants for IPv4/IPv6/TCP and the link layers Tumbler captures on. Every header size,
 * field offset, flag bit, option kind and limit used by shared/packet is named here, once.
 */

// ---- Limits ----
/** Largest IP packet accepted or built (IPv4 total length is 16 bits; IPv6 packets are held to the same bound). */
export const MAX_IP_PACKET = 65_535;
/**
 * Largest reply payload the protocol allows in a SYN-ACK. Enforced by the receiver (client reply
 * matching), not by buildSynAck, so that tests can build an over-long reply to see it refused.
 */
export const MAX_SYNACK_PAYLOAD = 512;

// ---- IPv4 (RFC 791) ----
export const IPV4_HEADER_LEN = 20;
export const IPV4_IHL_NO_OPTIONS = 5;
export const IPV4_OFF_VERSION_IHL = 0;
export const IPV4_OFF_TOS = 1;
export const IPV4_OFF_TOTAL_LEN = 2;
export const IPV4_OFF_ID = 4;
export const IPV4_OFF_FLAGS_FRAG = 6;
export const IPV4_OFF_TTL = 8;
export const IPV4_OFF_PROTOCOL = 9;
export const IPV4_OFF_CHECKSUM = 10;
export const IPV4_OFF_SRC = 12;
export const IPV4_OFF_DST = 16;
export const IPV4_ADDR_LEN = 4;
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_FRAG_OFFSET_MASK = 0x1fff;

// ---- IPv6 (RFC 8200) ----
export const IPV6_HEADER_LEN = 40;
export const IPV6_OFF_VTC_FLOW = 0;
export const IPV6_OFF_PAYLOAD_LEN = 4;
export const IPV6_OFF_NEXT_HEADER = 6;
export const IPV6_OFF_HOP_LIMIT = 7;
export const IPV6_OFF_SRC = 8;
export const IPV6_OFF_DST = 24;
export const IPV6_ADDR_LEN = 16;
export const IPV6_FLOW_LABEL_MASK = 0xfffff;
/** Next-header values that are IPv6 extension headers (IANA "IPv6 Extension Header Types"). */
export const IPV6_EXTENSION_HEADERS: ReadonlySet<number> = new Set([0, 43, 44, 50, 51, 60, 135, 139, 140, 253, 254]);

// ---- IP common ----
export const IP_VERSION_4 = 4;
export const IP_VERSION_6 = 6;
export const IPPROTO_TCP = 6;
/** TTL / hop limit of Linux's own packets (net.ipv4.ip_default_ttl, net.ipv6.conf.*.hop_limit). */
export const DEFAULT_TTL = 64;

// ---- TCP (RFC 9293) ----
export const TCP_HEADER_LEN = 20;
export const TCP_MIN_DATA_OFFSET = 5;
export const TCP_OFF_SRC_PORT = 0;
export const TCP_OFF_DST_PORT = 2;
export const TCP_OFF_SEQ = 4;
export const TCP_OFF_ACK = 8;
/** Data offset (high nibble) and the AE/NS flag (low bit). */
export const TCP_OFF_DATA_OFFSET = 12;
export const TCP_OFF_FLAGS = 13;
export const TCP_OFF_WINDOW = 14;
export const TCP_OFF_CHECKSUM = 16;
export const TCP_OFF_URGENT = 18;
export const TCP_OFF_OPTIONS = 20;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;
/** AE (formerly NS, RFC 3540), the low bit of byte 12; reported as bit 8 of `flags`. */
export const TCP_AE = 0x100;

// ---- TCP option kinds and lengths ----
export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERM = 4;
export const TCPOPT_TIMESTAMP = 8;
export const TCPOLEN_MSS = 4;
export const TCPOLEN_WSCALE = 3;
export const TCPOLEN_SACK_PERM = 2;
export const TCPOLEN_TIMESTAMP = 10;
/** Largest window-scale shift (RFC 7323 §2.3). */
export const TCP_MAX_WSCALE = 14;

// ---- Linux's own packets (the SYN's host-derived fields are in linux-syn.ts) ----
/** MSS for a 1500-byte MTU: 1500 - 20 - 20 (IPv4), 1500 - 40 - 20 (IPv6); buildSynAck's MSS option. */
export const LINUX_MSS_V4 = 1460;
export const LINUX_MSS_V6 = 1440;
/** Typical Linux SYN-ACK windows (used as buildSynAck defaults). */
export const LINUX_SYNACK_WINDOW_V4 = 65_160;
export const LINUX_SYNACK_WINDOW_V6 = 64_800;

// ---- Link layers ----
export const ETH_HEADER_LEN = 14;
export const ETH_OFF_TYPE = 12;
export const VLAN_TAG_LEN = 4;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_QINQ = 0x88a8;
/** Linux cooked capture v1: protocol (ethertype) at byte 14 of a 16-byte header. */
export const SLL_HEADER_LEN = 16;
export const SLL_OFF_PROTOCOL = 14;
/** Linux cooked capture v2: protocol at byte 0 of a 20-byte header. */
export const SLL2_HEADER_LEN = 20;
export const SLL2_OFF_PROTOCOL = 0;

/**
 * The packet API, in one import: build the knock SYN (in the host's Linux look) and the reply
 * SYN-ACK, recognise the reply, parse IP/TCP packets and captured frames, address text <-> bytes.
 * The only code in Tumbler that reads or writes IP or TCP header bytes lives in shared/packet/;
 * this module re-exports it.
 */
export { formatAddress, parseAddress, type AddressBytes, type IpFamily } from '../net/address.js';
export { buildSyn, buildSynAck, ipv6PacketAround, type BuildSynAckParams, type BuildSynParams } from './build.js';
export { parseFrame, type LinkType } from './frame.js';
export { decodeTcpOptions, type DecodedTcpOptions } from './options.js';
export { parseIpTcp, type ParsedTcp, type ParseOptions } from './parse.js';
export { chooseSynShape, nextConnection, type SynShape } from './syn-shape.js';
export {
  ETHERNET_ROUTE, LINUX_DEFAULT_TCP, linuxAdvertisedMss, linuxSynFields, parseKernelRelease,
  type LinuxSynFields, type LinuxTcpSettings, type RouteTcpMetrics,
} from './linux-syn.js';
export { describeSyn, synAckPayload, synAckPayloadFromSegment, type SentSyn } from './synack-match.js';

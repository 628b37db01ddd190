/**
 * Live capture of knock SYNs with libpcap (`pcap`). The kernel BPF filter passes only TCP SYNs
 * without ACK, to our addresses, inside the knock range, so the worker sees almost nothing else.
 * Immediate mode (no block timeout): a knock is handled as soon as its last SYN arrives.
 */
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { TumblerError } from '../../shared/errors.js';
import type { PortRange } from '../config/types.js';

import type { LinkType } from '../../shared/packet/frame.js';

export type { LinkType };

export interface CaptureHandle {
  readonly iface: string;
  readonly linkType: LinkType;
  stats(): { received: number; dropped: number; ifDropped: number };
}

/** BPF: SYN without ACK (IPv4 via tcp[13], IPv6 without extension headers via ip6[53]) to our addresses and knock range. */
export function knockFilter(addresses: readonly string[], range: PortRange): string {
  for (const a of addresses) if (isIP(a) === 0) throw new TumblerError('CAPTURE_FILTER', 'bad address for filter');
  const v4 = addresses.filter((a) => isIP(a) === 4);
  const v6 = addresses.filter((a) => isIP(a) === 6);
  const parts: string[] = [];
  if (v4.length) {
    parts.push(`(ip and (${v4.map((a) => `dst host ${a}`).join(' or ')}) and ip[6:2] & 0x3fff == 0 and tcp[13] & 0x12 == 0x02 and tcp dst portrange ${range.first}-${range.last})`);
  }
  if (v6.length) {
    parts.push(`(ip6 and (${v6.map((a) => `dst host ${a}`).join(' or ')}) and ip6[6] == 6 and ip6[53] & 0x12 == 0x02 and ip6[42:2] >= ${range.first} and ip6[42:2] <= ${range.last})`);
  }
  return parts.join(' or ');
}

const LINK_TYPES: Record<string, LinkType> = {
  LINKTYPE_ETHERNET: 'EN10MB',
  LINKTYPE_LINUX_SLL: 'LINUX_SLL',
  LINKTYPE_LINUX_SLL2: 'LINUX_SLL2',
  LINKTYPE_RAW: 'RAW',
};

interface PcapSession {
  link_type: string;
  on(ev: 'packet', cb: (p: { buf: Buffer; header: Buffer }) => void): void;
  stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
}

/**
 * Open a live capture; `onPacket` gets the frame (a view valid only during the call: pcap reuses
 * the buffer), its link type and the capture timestamp in ms. Must run with CAP_NET_RAW.
 */
export function openCapture(iface: string, filter: string, onPacket: (frame: Buffer, linkType: LinkType, tsMs: number) => void): CaptureHandle {
  const pcap = createRequire(import.meta.url)('pcap') as { createSession(dev: string, o: object): PcapSession };
  let session: PcapSession;
  try {
    session = pcap.createSession(iface, { filter, buffer_timeout: 0, buffer_size: 8 * 1024 * 1024, snap_length: 256, promiscuous: false });
  } catch (e) {
    throw new TumblerError('CAPTURE_OPEN', `cannot capture on ${iface}: ${(e as Error).message}`);
  }
  const linkType = LINK_TYPES[session.link_type];
  if (!linkType) throw new TumblerError('CAPTURE_LINK', `unsupported link type ${session.link_type} on ${iface}`);
  session.on('packet', ({ buf, header }) => {
    const caplen = header.readUInt32LE(8);
    const tsMs = header.readUInt32LE(0) * 1000 + Math.floor(header.readUInt32LE(4) / 1000);
    onPacket(buf.subarray(0, Math.min(caplen, buf.length)), linkType, tsMs);
  });
  return {
    iface,
    linkType,
    stats() {
      const s = session.stats();
      return { received: s.ps_recv, dropped: s.ps_drop, ifDropped: s.ps_ifdrop };
    },
  };
}

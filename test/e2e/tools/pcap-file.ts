/** Reads the SYNs out of a classic pcap file written by `tcpdump -w` (Ethernet link type). */
import { readFileSync } from 'node:fs';
import { parseFrame } from '../../../shared/packet/tcp.js';

export interface CapturedSyn { src: string; dst: string; srcPort: number; dstPort: number; isn: number; flags: number }

export function readSyns(file: string): CapturedSyn[] {
  const b = readFileSync(file);
  if (b.length < 24) return [];
  const le = b.readUInt32LE(0) === 0xa1b2c3d4;
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const out: CapturedSyn[] = [];
  for (let off = 24; off + 16 <= b.length;) {
    const incl = u32(off + 8);
    const frame = b.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    try {
      const p = parseFrame(frame, 'EN10MB');
      out.push({ src: p.src, dst: p.dst, srcPort: p.srcPort, dstPort: p.dstPort, isn: p.seq, flags: p.flags });
    } catch { /* not a TCP/IP frame */ }
  }
  return out;
}

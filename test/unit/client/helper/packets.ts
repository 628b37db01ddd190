/**
 * Test support for the helper tests: hand-built IPv4/IPv6 TCP packets with correct checksums
 * (independent of shared/packet), helper request encoding for malformed shapes, and a minimal
 * pcap file reader for tcpdump captures.
 */

export function addrBytes(a: string): Buffer {
  if (a.includes(':')) {
    const [head = '', tail = ''] = a.split('::');
    const h = head ? head.split(':') : [];
    const t = a.includes('::') && tail ? tail.split(':') : [];
    const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    const b = Buffer.alloc(16);
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
    return b;
  }
  return Buffer.from(a.split('.').map(Number));
}

/** Ones' complement sum of 16-bit words, folded (not inverted). */
function sum16(buf: Buffer, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16BE(i);
  if (buf.length % 2) s += (buf[buf.length - 1] ?? 0) << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

export function checksum(buf: Buffer, init = 0): number {
  return ~sum16(buf, init) & 0xffff;
}

/** Typical Linux SYN options: MSS, SACK-permitted, timestamps, NOP, window scale (20 bytes). */
export const LINUX_OPTS = Buffer.from([2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 3, 3, 7]);

export interface SegOpts {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags?: number;
  options?: Buffer;
  payload?: Buffer;
  window?: number;
  urgent?: number;
  id?: number;
  ttl?: number;
  /** IPv4 TOS byte (default 0) and flags/fragment-offset field (default 0x4000, DF). */
  tos?: number;
  frag?: number;
  /** IPv6 traffic class (default 0) and flow label (default 0x12345). */
  tclass?: number;
  flowLabel?: number;
  /** IPv6 only: next header value and extension header bytes placed before TCP. */
  nextHeader?: number;
  ext?: Buffer;
  /** Applied to the finished packet (after checksums) to corrupt it. */
  mutate?: (p: Buffer) => void;
}

function tcpSegment(o: SegOpts, pseudo: Buffer): Buffer {
  const opts = o.options ?? LINUX_OPTS;
  const payload = o.payload ?? Buffer.alloc(0);
  const hlen = 20 + opts.length;
  const t = Buffer.alloc(hlen + payload.length);
  t.writeUInt16BE(o.sport, 0);
  t.writeUInt16BE(o.dport, 2);
  t.writeUInt32BE(o.seq >>> 0, 4);
  t.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
  t[12] = (hlen / 4) << 4;
  t[13] = o.flags ?? 0x02;
  t.writeUInt16BE(o.window ?? 64240, 14);
  t.writeUInt16BE(o.urgent ?? 0, 18);
  opts.copy(t, 20);
  payload.copy(t, hlen);
  t.writeUInt16BE(checksum(t, sum16(pseudo)), 16);
  return t;
}

export function ipv4Packet(o: SegOpts): Buffer {
  const src = addrBytes(o.src);
  const dst = addrBytes(o.dst);
  const tcpLen = 20 + (o.options ?? LINUX_OPTS).length + (o.payload?.length ?? 0);
  const pseudo = Buffer.concat([src, dst, Buffer.from([0, 6, tcpLen >> 8, tcpLen & 0xff])]);
  const t = tcpSegment(o, pseudo);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + t.length, 2);
  ip.writeUInt16BE(o.id ?? 0x1234, 4);
  ip[1] = o.tos ?? 0;
  ip.writeUInt16BE(o.frag ?? 0x4000, 6);
  ip[8] = o.ttl ?? 64;
  ip[9] = 6;
  src.copy(ip, 12);
  dst.copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  const p = Buffer.concat([ip, t]);
  o.mutate?.(p);
  return p;
}

export function ipv6Packet(o: SegOpts): Buffer {
  const src = addrBytes(o.src);
  const dst = addrBytes(o.dst);
  const tcpLen = 20 + (o.options ?? LINUX_OPTS).length + (o.payload?.length ?? 0);
  const pseudo = Buffer.concat([src, dst, Buffer.from([0, 0, tcpLen >> 8, tcpLen & 0xff, 0, 0, 0, 6])]);
  const t = tcpSegment(o, pseudo);
  const ext = o.ext ?? Buffer.alloc(0);
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE((0x60000000 | ((o.tclass ?? 0) << 20) | (o.flowLabel ?? 0x12345)) >>> 0, 0);
  ip.writeUInt16BE(ext.length + t.length, 4);
  ip[6] = o.nextHeader ?? 6;
  ip[7] = o.ttl ?? 64;
  src.copy(ip, 8);
  dst.copy(ip, 24);
  const p = Buffer.concat([ip, ext, t]);
  o.mutate?.(p);
  return p;
}

/** A helper request with any count/magic/family/timeout, for malformed cases. */
export function rawRequest(packets: Buffer[], o: { magic?: string; family?: number; timeoutMs?: number; count?: number } = {}): Buffer {
  const head = Buffer.alloc(8);
  head.write(o.magic ?? 'TKH1', 0, 'latin1');
  head[4] = o.family ?? 4;
  head.writeUInt16BE(o.timeoutMs ?? 500, 5);
  head[7] = o.count ?? packets.length;
  const parts: Buffer[] = [head];
  for (const p of packets) {
    const l = Buffer.alloc(2);
    l.writeUInt16BE(p.length, 0);
    parts.push(l, p);
  }
  return Buffer.concat(parts);
}

/** IP packets (link layer stripped) of a little-endian, Ethernet pcap file; ignores a torn tail. */
export function readPcap(file: Buffer): Buffer[] {
  const out: Buffer[] = [];
  if (file.length < 24) return out;
  if (file.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('unexpected pcap magic');
  const linktype = file.readUInt32LE(20);
  let off = 24;
  while (off + 16 <= file.length) {
    const incl = file.readUInt32LE(off + 8);
    if (off + 16 + incl > file.length) break;
    const frame = file.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (linktype === 1 && frame.length > 14) {
      const et = frame.readUInt16BE(12);
      if (et === 0x0800 || et === 0x86dd) out.push(Buffer.from(frame.subarray(14)));
    } else if (linktype === 101 || linktype === 12) {
      out.push(Buffer.from(frame));
    }
  }
  return out;
}

export interface TcpInfo {
  sport: number;
  dport: number;
  flags: number;
  seq: number;
  window: number;
  src: Buffer;
  /** The TCP option bytes. */
  options: Buffer;
}

/** The TCP header of an IP packet and its ports/flags/window/options, or null when not TCP. */
export function tcpInfo(ip: Buffer): TcpInfo | null {
  const v = (ip[0] ?? 0) >> 4;
  let off: number;
  let src: Buffer;
  if (v === 4) {
    if (ip[9] !== 6) return null;
    off = ((ip[0] ?? 0) & 15) * 4;
    src = ip.subarray(12, 16);
  } else if (v === 6) {
    if (ip[6] !== 6) return null;
    off = 40;
    src = ip.subarray(8, 24);
  } else return null;
  const hlen = ((ip[off + 12] ?? 0) >> 4) * 4;
  return {
    sport: ip.readUInt16BE(off), dport: ip.readUInt16BE(off + 2), flags: ip[off + 13] ?? 0, seq: ip.readUInt32BE(off + 4),
    window: ip.readUInt16BE(off + 14), src, options: Buffer.from(ip.subarray(off + 20, off + hlen)),
  };
}

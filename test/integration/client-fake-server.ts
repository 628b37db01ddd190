/**
 * Test program for client-open-netns.test.ts, run as root in the server namespace: a tiny knock
 * server on raw sockets. It reads SYNs from a raw IPPROTO_TCP socket, assembles three to the ports
 * of a device's live sequence (tags checked), verifies the knock with the real protocol module
 * against the source address it saw, and answers with a real SYN-ACK from ports[2] (sent through
 * an IPPROTO_RAW socket): a probe with a sealed address report (the sequence stays), a knock with
 * a sealed grant (the sequence rolls). An identical retransmit gets the stored reply again.
 * One JSON line per event on stdout: ready, probed, granted, resent, rejected.
 *
 * argv[2]: JSON { addresses: { "4"?: string, "6"?: string }, devices: [{ keyHex, seqHex, grantPort? }], windowSec }
 * (a device's grantPort, when given, is the port every grant of it reports).
 * TCP headers are decoded by hand here, independent of the client's code.
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { buildSynAck, parseAddress } from '../../shared/packet/tcp.js';
import { isProbe, knockIsns, knockKeys, verifyKnock, type Knock } from '../../shared/protocol/knock.js';
import { replyKey, sealAddressReport, sealReply } from '../../shared/protocol/reply.js';
import { generateSequence, sequenceFromKey, type Sequence } from '../../shared/protocol/sequence.js';

interface RawSocket {
  close(): void;
  on(ev: 'message', cb: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', cb: (e: Error) => void): void;
  send(buf: Buffer, off: number, len: number, addr: string, cb: (e: Error | null) => void): void;
}
const raw = createRequire(import.meta.url)('raw-socket') as {
  createSocket(o: { protocol: number; addressFamily: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
};

const cfg = JSON.parse(process.argv[2]!) as { addresses: Partial<Record<'4' | '6', string>>; devices: Array<{ keyHex: string; seqHex: string; grantPort?: number }>; windowSec: number };
const out = (o: object): void => { process.stdout.write(`${JSON.stringify(o)}\n`); };

interface Device { key: Buffer; seq: Sequence; grantPort?: number }
const devices: Device[] = cfg.devices.map((d) => ({ key: Buffer.from(d.keyHex, 'hex'), seq: sequenceFromKey(Buffer.from(d.seqHex, 'hex')), grantPort: d.grantPort }));
interface Syn { dstPort: number; isn: number; srcPort: number }
const pending = new Map<string, Syn[]>(); // source address → recent SYNs
const stored = new Map<string, { payload: Buffer; srcPort: number }>(); // ISNs hex → reply
let nextGrant = 50100;
/**
 * raw-socket's native handle does not keep its JS object alive: the sockets must stay reachable
 * from a root (here a process listener), or GC closes them and the process just exits.
 */
const sockets: RawSocket[] = [];
process.on('SIGTERM', () => { for (const s of sockets) s.close(); process.exit(0); });

function onSyn(family: 4 | 6, source: string, ours: string, syn: Syn, send: RawSocket): void {
  const list = [...(pending.get(source) ?? []), syn].slice(-8);
  pending.set(source, list);
  for (const d of devices) {
    const picked = d.seq.ports.map((port, i) => [...list].reverse().find((s) => s.dstPort === port && (s.isn >>> 24) === d.seq.tags[i]));
    if (picked.some((s) => !s)) continue;
    const syns = picked as Syn[];
    const knock = syns.map((s) => ({ dstPort: s.dstPort, isn: s.isn })) as unknown as Knock;
    const isns = knockIsns(knock);
    pending.delete(source);
    const answerFrom = d.seq.ports[2]; // before the sequence rolls below
    const reply = (payload: Buffer, event: string, extra: object): void => {
      const pkt = buildSynAck({ family, src: ours, dst: source, srcPort: answerFrom, dstPort: syns[2]!.srcPort, seq: randomBytes(4).readUInt32BE(0),
        ack: (syns[2]!.isn + 1) >>> 0, payload, ipId: randomBytes(2).readUInt16BE(0) });
      send.send(pkt, 0, pkt.length, source, (e) => out(e ? { event: 'send-error', message: e.message } : { event, family, source, ...extra }));
    };
    let probe: boolean;
    try {
      probe = isProbe(verifyKnock({ keys: knockKeys(d.key), sequence: d.seq, packets: knock, observed: parseAddress(source), nowSec: Math.floor(Date.now() / 1000), windowSec: cfg.windowSec }));
    } catch (e) {
      out({ event: 'rejected', code: (e as { code?: string }).code });
      return;
    }
    if (probe) {
      reply(sealAddressReport(replyKey(d.key), { windowSec: cfg.windowSec, serverTimeMs: Date.now(), observed: parseAddress(source) }, { sequence: d.seq, isns }, randomBytes), 'probed', {});
      return;
    }
    const port = d.grantPort ?? nextGrant++;
    const next = generateSequence({ first: 40000, last: 40999 }, randomBytes);
    const payload = sealReply(replyKey(d.key), { grantedPort: port, expiresAt: Math.floor(Date.now() / 1000) + 30, next, serverTimeMs: Date.now(), observed: parseAddress(source) },
      { sequence: d.seq, isns }, randomBytes);
    stored.set(isns.toString('hex'), { payload, srcPort: syns[2]!.srcPort });
    d.seq = next;
    reply(payload, 'granted', { port });
    return;
  }
  // An identical retransmit of a consumed knock: the stored reply again.
  if (list.length >= 3) {
    const last3 = list.slice(-3).sort((a, b) => a.dstPort - b.dstPort);
    const hex = Buffer.concat(last3.map((s) => { const b = Buffer.alloc(4); b.writeUInt32BE(s.isn); return b; })).toString('hex');
    const hit = stored.get(hex);
    if (hit) {
      pending.delete(source);
      const top = last3[2]!;
      const pkt = buildSynAck({ family, src: ours, dst: source, srcPort: top.dstPort, dstPort: top.srcPort, seq: randomBytes(4).readUInt32BE(0),
        ack: (top.isn + 1) >>> 0, payload: hit.payload, ipId: randomBytes(2).readUInt16BE(0) });
      send.send(pkt, 0, pkt.length, source, () => out({ event: 'resent', family }));
    }
  }
}

for (const fam of ['4', '6'] as const) {
  const ours = cfg.addresses[fam];
  if (!ours) continue;
  const family = fam === '4' ? 4 : 6;
  const af = family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6;
  const recv = raw.createSocket({ protocol: 6, addressFamily: af });
  const send = raw.createSocket({ protocol: 255, addressFamily: af });
  sockets.push(recv, send);
  recv.on('error', (e) => out({ event: 'error', message: e.message }));
  recv.on('message', (buf, source) => {
    let t = buf;
    if (family === 4) {
      if (buf.length < 20 || buf[9] !== 6) return;
      const dst = `${buf[16]}.${buf[17]}.${buf[18]}.${buf[19]}`;
      if (dst !== ours) return;
      t = buf.subarray((buf[0]! & 0x0f) * 4);
    }
    if (t.length < 20 || t[13] !== 0x02) return; // plain SYNs only
    onSyn(family, source.split('%')[0]!, ours, { srcPort: t.readUInt16BE(0), dstPort: t.readUInt16BE(2), isn: t.readUInt32BE(4) }, send);
  });
}
out({ event: 'ready' });

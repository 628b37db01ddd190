/**
 * Sends the sealed reply: a SYN-ACK with the payload, from the sequence's highest knock port to the
 * client's source port of that packet, ack = its ISN + 1, through a send-only raw socket
 * (IPPROTO_RAW: receives nothing) opened before the privilege drop.
 */
import type { IpFamily } from '../../shared/net/address.js';
import { createRequire } from 'node:module';
import { buildSynAck } from '../../shared/packet/tcp.js';
import { TumblerError } from '../../shared/errors.js';

interface RawSocket {
  send(buf: Buffer, offset: number, length: number, address: string, cb: (err?: Error | null, bytes?: number) => void): void;
  close(): void;
}
interface RawModule {
  createSocket(o: { protocol: number; addressFamily: number }): RawSocket & { on(ev: string, cb: (e: Error) => void): void };
  AddressFamily: { IPv4: number; IPv6: number };
}

const IPPROTO_RAW = 255;

export interface ReplyTarget {
  readonly family: IpFamily;
  readonly serverAddress: string; // our address the knock was sent to
  readonly clientAddress: string;
  readonly serverPort: number; // sequence port 3
  readonly clientPort: number; // source port of the packet to serverPort
  readonly knockIsn: number; // ISN of that packet
}

export class ReplySender {
  private readonly sockets = new Map<IpFamily, RawSocket>();

  /** Open the raw sockets now (needs CAP_NET_RAW); they keep working after the drop. */
  constructor(families: ReadonlyArray<IpFamily>, private readonly random: (n: number) => Buffer) {
    const raw = createRequire(import.meta.url)('raw-socket') as RawModule;
    for (const f of new Set(families)) {
      try {
        const s = raw.createSocket({ protocol: IPPROTO_RAW, addressFamily: f === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6 });
        s.on('error', () => { /* send errors are reported per send */ });
        this.sockets.set(f, s);
      } catch (e) {
        throw new TumblerError('REPLY_SOCKET', `cannot open a raw socket: ${(e as Error).message}`);
      }
    }
  }

  /** The SYN-ACK bytes for a reply (pure; also used by tests). */
  static packet(t: ReplyTarget, payload: Buffer, random: (n: number) => Buffer): Buffer {
    return buildSynAck({
      family: t.family, src: t.serverAddress, dst: t.clientAddress, srcPort: t.serverPort, dstPort: t.clientPort,
      seq: random(4).readUInt32BE(0), ack: (t.knockIsn + 1) >>> 0, payload, ipId: random(2).readUInt16BE(0),
    });
  }

  send(t: ReplyTarget, payload: Buffer): Promise<void> {
    const s = this.sockets.get(t.family);
    if (!s) return Promise.reject(new TumblerError('REPLY_SOCKET', `no IPv${t.family} raw socket`));
    const pkt = ReplySender.packet(t, payload, this.random);
    return new Promise((resolve, reject) => {
      s.send(pkt, 0, pkt.length, t.clientAddress, (err) => (err ? reject(new TumblerError('REPLY_SEND', err.message)) : resolve()));
    });
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}

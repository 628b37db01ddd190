/**
 * Test support: an in-process stand-in for tumblerd's knock path, built from the real protocol
 * module (not a mock of the client). Given the three IP packets a client would send, it parses them,
 * checks the ports and tags against the device's live sequence, verifies the knock with
 * verifyKnock against the address it "sees", opens a grant, rolls the sequence and seals a real
 * reply; an identical retransmit gets the stored reply again (docs/protocol.md §9b). Anything else
 * gets silence (null). It plugs into the open flow as its transport.
 */
import { addressBytes, describeSyn } from '../../../../client/knock/wire.js';
import type { KnockTransport } from '../../../../client/transport/send.js';
import { knockIsns, knockKeys, verifyKnock, type Declaration, type Knock } from '../../../../shared/protocol/knock.js';
import { replyKey, sealReply } from '../../../../shared/protocol/reply.js';
import { generateSequence, type Sequence } from '../../../../shared/protocol/sequence.js';

/** Deterministic bytes (a counter through a simple mixer): tests stay reproducible. */
export function seededRandom(seed = 1): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  return (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
      b[i] = x & 0xff;
    }
    return b;
  };
}

export interface SendRecord {
  readonly family: 4 | 6;
  readonly packets: Buffer[]; // copies, in send order
  readonly timeoutMs: number;
}

export interface Accepted {
  readonly declaration: Declaration;
  readonly observed: string;
  readonly port: number;
}

export class FakeServer {
  sequence: Sequence;
  /** Address the server sees the packets from (a NAT's public address); default: their source. */
  seenAs?: string;
  /** Server clock = client clock + skewMs. */
  skewMs = 0;
  windowSec = 30;
  /** Drop this many replies (as if lost on the way back). */
  dropReplies = 0;
  /** Before the real reply, hand the client this many payloads sealed with another key. */
  forgedFirst = 0;
  readonly sends: SendRecord[] = [];
  readonly accepted: Accepted[] = [];
  readonly rejected: string[] = [];
  private readonly stored = new Map<string, Buffer>();
  private nextPort = 50000;

  constructor(private readonly key: Buffer, first: Sequence, private readonly clientNow: () => number,
    private readonly random = seededRandom(7)) {
    this.sequence = first;
  }

  /** Transport for the open flow. `acceptStyle`: call `accept` like the raw path does, else return like the helper. */
  transport(acceptStyle = false): KnockTransport {
    return async (family, packets, timeoutMs, accept) => {
      this.sends.push({ family, packets: packets.map((p) => Buffer.from(p)), timeoutMs });
      const replies: Buffer[] = [];
      while (this.forgedFirst > 0) {
        this.forgedFirst--;
        replies.push(this.forged(packets));
      }
      const real = this.receive(family, packets);
      if (real) replies.push(real);
      for (const r of replies) {
        if (!acceptStyle) return r; // helper: the first matching payload, whatever it is
        if (accept?.(r)) return r;
      }
      return null;
    };
  }

  private forged(packets: readonly Buffer[]): Buffer {
    const other = Buffer.alloc(16, 0xee);
    const knock = this.knockOf(packets);
    return sealReply(replyKey(other), {
      grantedPort: 1, expiresAt: 1, next: this.sequence, serverTimeMs: 1, observed: addressBytes('192.0.2.99'),
    }, { sequence: this.sequence, isns: knockIsns(knock) }, this.random);
  }

  private knockOf(packets: readonly Buffer[]): Knock {
    return packets.map(describeSyn).sort((a, b) => a.dstPort - b.dstPort).map((s) => ({ dstPort: s.dstPort, isn: s.isn })) as unknown as Knock;
  }

  /** The server's side: the reply payload, or null (silence). */
  receive(family: 4 | 6, packets: readonly Buffer[]): Buffer | null {
    const syns = packets.map(describeSyn);
    if (syns.length !== 3 || syns.some((s) => s.family !== family || s.src !== syns[0]!.src || s.dst !== syns[0]!.dst)) {
      this.rejected.push('SHAPE');
      return null;
    }
    // The server answers the packet to ports[2]; the client must send it last.
    const last = syns[2]!;
    if (last.dstPort !== Math.max(...syns.map((s) => s.dstPort))) {
      this.rejected.push('ORDER');
      return null;
    }
    const knock = this.knockOf(packets);
    const isns = knockIsns(knock);
    const id = isns.toString('hex');
    let reply = this.stored.get(id);
    if (!reply) {
      const observed = this.seenAs ?? syns[0]!.src;
      const nowMs = this.clientNow() + this.skewMs;
      let declaration: Declaration;
      try {
        declaration = verifyKnock({
          keys: knockKeys(this.key), sequence: this.sequence, packets: knock, observed: addressBytes(observed),
          nowSec: Math.floor(nowMs / 1000), windowSec: this.windowSec,
        });
      } catch (e) {
        this.rejected.push((e as { code?: string }).code ?? 'ERROR');
        return null;
      }
      const next = generateSequence({ first: 40000, last: 40999 }, this.random);
      const port = this.nextPort++;
      reply = sealReply(replyKey(this.key), {
        grantedPort: port, expiresAt: Math.floor(nowMs / 1000) + 30, next, serverTimeMs: nowMs, observed: addressBytes(observed),
      }, { sequence: this.sequence, isns }, this.random);
      this.stored.set(id, reply);
      this.accepted.push({ declaration, observed, port });
      this.sequence = next;
    }
    if (this.dropReplies > 0) {
      this.dropReplies--;
      return null;
    }
    return reply;
  }
}

/**
 * Test support: an in-process stand-in for tumblerd's knock path, built from the real protocol
 * module and the worker's own probe guard (not a mock of the client). Given the three IP packets a
 * client would send, it parses them; answers only at its own addresses; checks ports and tags
 * against the device's live sequence (or the consumed one, §9c); verifies against the address it
 * "sees" (a NAT's public address, when set); answers a probe with a sealed address report; grants
 * a knock, rolls the sequence and seals a real reply; an identical retransmit from the same address
 * gets the stored reply again (§9b). Anything else gets silence (null). It plugs into the open flow
 * as its transport (several servers: `route`).
 */
import { describeSyn } from '../../../../client/knock/wire.js';
import type { KnockTransport } from '../../../../client/transport/send.js';
import { parseAddress } from '../../../../shared/net/address.js';
import { isProbe, knockIsns, knockKeys, verifyKnock, type Declaration, type Knock } from '../../../../shared/protocol/knock.js';
import { replyKey, sealAddressReport, sealReply } from '../../../../shared/protocol/reply.js';
import { generateSequence, sequenceKey, type Sequence } from '../../../../shared/protocol/sequence.js';
import { ProbeGuard } from '../../../../server/worker/probe.js';

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
  readonly dst: string;
  readonly packets: Buffer[]; // copies, in send order
  readonly timeoutMs: number;
}

export interface Accepted {
  readonly declaration: Declaration;
  readonly observed: string;
  readonly port: number;
  readonly mode: 'first' | 'recovery';
}

interface Consumed {
  readonly sequence: Sequence;
  readonly ts: number;
  readonly isns: string;
  readonly source: string;
  readonly reply: Buffer;
}

const sortedKnock = (packets: readonly Buffer[]): Knock =>
  packets.map(describeSyn).sort((a, b) => a.dstPort - b.dstPort).map((s) => ({ dstPort: s.dstPort, isn: s.isn })) as unknown as Knock;
const sameSequence = (k: Knock, s: Sequence): boolean => k.every((p, i) => p.dstPort === s.ports[i] && p.isn >>> 24 === s.tags[i]);

export class FakeServer {
  sequence: Sequence;
  /** Address the server sees the packets from (a NAT's public address); default: their source. */
  seenAs?: string;
  /** Changes `seenAs` after this many answered probes (a NAT that moves between probe and knock). */
  moveAfterProbe?: { probes: number; to: string };
  /** Server clock = client clock + skewMs. */
  skewMs = 0;
  windowSec = 30;
  /** Verify knocks, then refuse them (a service the user may not open). */
  refuseKnocks = false;
  /** Drop this many replies (as if lost on the way back). */
  dropReplies = 0;
  /** Before the real reply, hand the client this many payloads sealed with another key. */
  forgedFirst = 0;
  readonly sends: SendRecord[] = [];
  readonly accepted: Accepted[] = [];
  readonly probed: string[] = [];
  readonly rejected: string[] = [];
  /** The declaration seconds of the knocks and probes that verified, in arrival order. */
  readonly knockSeconds: number[] = [];
  readonly probeSeconds: number[] = [];
  /** The sequence the last grant consumed: open to a retransmit (§9b) and a recovery (§9c) until `sequence` is used. */
  private consumed: Consumed | null = null;
  private nextPort = 50000;
  private readonly guard = new ProbeGuard({ graceMs: 30_000, perSecond: 3, maxEntries: 64 });

  constructor(private readonly key: Buffer, first: Sequence, private readonly clientNow: () => number,
    readonly addresses: ReadonlySet<string> = new Set(['192.0.2.1']), private readonly random = seededRandom(7)) {
    this.sequence = first;
  }

  /** Transport for the open flow. `acceptStyle`: call `accept` like the raw path does, else return like the helper. */
  transport(acceptStyle = false): KnockTransport {
    return route([this], acceptStyle);
  }

  /** Records a send; the reply payloads it causes (forged ones first). */
  handle(family: 4 | 6, packets: readonly Buffer[], timeoutMs: number): Buffer[] {
    this.sends.push({ family, dst: describeSyn(packets[0]!).dst, packets: packets.map((p) => Buffer.from(p)), timeoutMs });
    const replies: Buffer[] = [];
    while (this.forgedFirst > 0) {
      this.forgedFirst--;
      replies.push(this.forged(packets));
    }
    const real = this.receive(family, packets);
    if (real) replies.push(real);
    return replies;
  }

  private forged(packets: readonly Buffer[]): Buffer {
    const other = Buffer.alloc(16, 0xee);
    return sealReply(replyKey(other), {
      grantedPort: 1, expiresAt: 1, next: this.sequence, serverTimeMs: 1, observed: parseAddress('192.0.2.99'),
    }, { sequence: this.sequence, isns: knockIsns(sortedKnock(packets)) }, this.random);
  }

  private deliver(reply: Buffer): Buffer | null {
    if (this.dropReplies > 0) {
      this.dropReplies--;
      return null;
    }
    return reply;
  }

  /** The server's side: the reply payload, or null (silence). */
  receive(family: 4 | 6, packets: readonly Buffer[]): Buffer | null {
    const syns = packets.map(describeSyn);
    if (syns.length !== 3 || syns.some((s) => s.family !== family || s.src !== syns[0]!.src || s.dst !== syns[0]!.dst)) {
      this.rejected.push('SHAPE');
      return null;
    }
    if (!this.addresses.has(syns[0]!.dst)) {
      this.rejected.push('NOT_HERE');
      return null;
    }
    // The server answers the packet to ports[2]; the client must send it last.
    if (syns[2]!.dstPort !== Math.max(...syns.map((s) => s.dstPort))) {
      this.rejected.push('ORDER');
      return null;
    }
    const knock = sortedKnock(packets);
    const isns = knockIsns(knock).toString('hex');
    const observed = this.seenAs ?? syns[0]!.src;
    const nowMs = this.clientNow() + this.skewMs;
    // §9b: an identical retransmit of the knock that consumed the sequence, from the same address.
    const c = this.consumed;
    if (c && c.isns === isns) {
      if (c.source === observed) return this.deliver(c.reply);
      this.rejected.push('REPLAY');
      return null;
    }
    const onLive = sameSequence(knock, this.sequence);
    const onConsumed = !onLive && c !== null && sameSequence(knock, c.sequence);
    if (!onLive && !onConsumed) {
      this.rejected.push('NO_SEQUENCE');
      return null;
    }
    const sequence = onLive ? this.sequence : c!.sequence;
    let declaration: Declaration;
    try {
      declaration = verifyKnock({
        keys: knockKeys(this.key), sequence, packets: knock, observed: parseAddress(observed), nowSec: Math.floor(nowMs / 1000), windowSec: this.windowSec,
      });
    } catch (e) {
      this.rejected.push((e as { code?: string }).code ?? 'ERROR');
      return null;
    }
    (isProbe(declaration) ? this.probeSeconds : this.knockSeconds).push(declaration.timestamp);
    const binding = { sequence, isns: knockIsns(knock) };
    if (isProbe(declaration)) {
      const refused = this.guard.admit(sequenceKey(sequence).toString('hex'), declaration.timestamp, isns, observed, nowMs);
      if (refused) {
        this.rejected.push(refused);
        return null;
      }
      this.probed.push(observed);
      const report = sealAddressReport(replyKey(this.key), { windowSec: this.windowSec, serverTimeMs: nowMs, observed: parseAddress(observed) }, binding, this.random);
      if (this.moveAfterProbe && this.probed.length >= this.moveAfterProbe.probes) this.seenAs = this.moveAfterProbe.to;
      return this.deliver(report);
    }
    if (onConsumed && !(declaration.timestamp > c!.ts)) {
      this.rejected.push('REPLAY');
      return null;
    }
    if (this.refuseKnocks) {
      this.rejected.push('SERVICE_DENIED');
      return null;
    }
    const next = generateSequence({ first: 40000, last: 40999 }, this.random);
    const port = this.nextPort++;
    const reply = sealReply(replyKey(this.key), {
      grantedPort: port, expiresAt: Math.floor(nowMs / 1000) + 30, next, serverTimeMs: nowMs, observed: parseAddress(observed),
    }, binding, this.random);
    this.consumed = { sequence, ts: declaration.timestamp, isns, source: observed, reply };
    this.accepted.push({ declaration, observed, port, mode: onLive ? 'first' : 'recovery' });
    this.sequence = next;
    return this.deliver(reply);
  }
}

/** A transport over several fake servers: each send goes to the one holding its destination address (else silence). */
export function route(servers: readonly FakeServer[], acceptStyle = false): KnockTransport {
  return async (family, packets, timeoutMs, accept) => {
    const dst = describeSyn(packets[0]!).dst;
    const server = servers.find((s) => s.addresses.has(dst)) ?? servers[0]!;
    for (const r of server.handle(family, packets, timeoutMs)) {
      if (!acceptStyle) return r; // helper: the first matching payload, whatever it is
      if (accept?.(r)) return r;
    }
    return null;
  };
}

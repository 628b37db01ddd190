/**
 * Knock assembly: pending SYNs per source address, order-independent, tolerant of duplicates and
 * of spoofed extra SYNs (it keeps up to `perSource` candidates and offers every 3-combination
 * that includes the newest packet). Bounded per source and in total, with expiry.
 */
export interface PendingPacket {
  readonly dstPort: number;
  readonly isn: number;
  readonly srcPort: number;
  readonly dstAddress: string; // which of our addresses it was sent to
  readonly atMs: number;
}

export type Triple = readonly [PendingPacket, PendingPacket, PendingPacket];

export interface AssemblerLimits {
  readonly perSource: number;
  readonly maxSources: number;
  readonly ttlMs: number;
}

export class Assembler {
  // Map iteration order = least recently active first, so eviction and expiry are O(1) amortised.
  private readonly pending = new Map<string, PendingPacket[]>();
  evictedSources = 0;
  expiredSources = 0;

  constructor(private readonly limits: AssemblerLimits) {}

  get sources(): number {
    return this.pending.size;
  }

  get packets(): number {
    let n = 0;
    for (const l of this.pending.values()) n += l.length;
    return n;
  }

  /**
   * Add a packet from `source`; returns the candidate triples (sorted by destination port) that
   * include it. A duplicate of a pending packet adds nothing and returns no triple.
   */
  add(source: string, p: PendingPacket): Triple[] {
    this.expire(p.atMs);
    let list = this.pending.get(source);
    if (list) {
      this.pending.delete(source); // re-insert at the tail: most recently active
      list = list.filter((q) => p.atMs - q.atMs <= this.limits.ttlMs);
      if (list.some((q) => q.dstPort === p.dstPort && q.isn === p.isn && q.srcPort === p.srcPort && q.dstAddress === p.dstAddress)) {
        this.pending.set(source, list);
        return [];
      }
    } else {
      list = [];
      if (this.pending.size >= this.limits.maxSources) {
        const oldest = this.pending.keys().next().value as string;
        this.pending.delete(oldest);
        this.evictedSources++;
      }
    }
    if (list.length >= this.limits.perSource) list.shift(); // oldest candidate of this source goes
    list.push(p);
    this.pending.set(source, list);
    return combinationsWith(list, p);
  }

  /** Remove every pending packet of `source` that `settled` matches (server/worker/settle.ts). */
  consumeWhere(source: string, settled: (q: PendingPacket) => boolean): void {
    const list = this.pending.get(source);
    if (!list) return;
    const rest = list.filter((q) => !settled(q));
    if (rest.length) this.pending.set(source, rest);
    else this.pending.delete(source);
  }

  private expire(nowMs: number): void {
    for (const [source, list] of this.pending) {
      const newest = list[list.length - 1];
      if (newest && nowMs - newest.atMs <= this.limits.ttlMs) break;
      this.pending.delete(source);
      this.expiredSources++;
    }
  }
}

/** Every set of 3 packets with distinct destination ports that includes `p`, sorted by port, all to one of our addresses. */
function combinationsWith(list: readonly PendingPacket[], p: PendingPacket): Triple[] {
  const others = list.filter((q) => q !== p && q.dstPort !== p.dstPort && q.dstAddress === p.dstAddress);
  const out: Triple[] = [];
  for (let i = 0; i < others.length; i++) {
    for (let j = i + 1; j < others.length; j++) {
      const a = others[i]!;
      const b = others[j]!;
      if (a.dstPort === b.dstPort) continue;
      out.push([a, b, p].sort((x, y) => x.dstPort - y.dstPort) as unknown as Triple);
    }
  }
  // Newest companions first: a legitimate knock's packets arrive together.
  return out.reverse();
}

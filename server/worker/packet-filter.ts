/**
 * Per-packet pre-filter: counts of live (knock port, tag) pairs, so a SYN whose port and ISN tag
 * belong to no live sequence is dropped before assembly (a spoofed SYN passes with ~1/256 odds
 * times the pair density). Built from the store, updated by the store's push (sequences issued on
 * any gateway); stale entries only make it more permissive.
 */
import { sequenceFromKey, type KnockRange, type Sequence } from '../../shared/protocol/sequence.js';

export class PacketFilter {
  private counts: Uint16Array;

  constructor(private readonly range: KnockRange) {
    this.counts = new Uint16Array((range.last - range.first + 1) * 256);
  }

  private index(port: number, tag: number): number {
    return (port - this.range.first) * 256 + tag;
  }

  /** True when some live sequence has `tag` as the ISN high byte at `port`. */
  passes(port: number, isn: number): boolean {
    if (port < this.range.first || port > this.range.last) return false;
    return this.counts[this.index(port, isn >>> 24)] !== 0;
  }

  add(s: Sequence): void {
    for (let i = 0; i < 3; i++) {
      const port = s.ports[i]!;
      if (port < this.range.first || port > this.range.last) continue; // issued under an older range
      const ix = this.index(port, s.tags[i]!);
      if (this.counts[ix]! < 0xffff) this.counts[ix]!++;
    }
  }

  /** A stored 9-byte sequence key; one that does not decode is skipped (null). */
  addKey(key: Buffer): Sequence | null {
    let s: Sequence;
    try {
      s = sequenceFromKey(key);
    } catch {
      return null;
    }
    this.add(s);
    return s;
  }

  /** Replace the contents with exactly these keys. */
  rebuild(keys: Iterable<Buffer>): number {
    this.counts = new Uint16Array(this.counts.length);
    let n = 0;
    for (const k of keys) {
      this.addKey(k);
      n++;
    }
    return n;
  }
}

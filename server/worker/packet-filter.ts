/**
 * The in-memory pre-filter, in two steps. Per packet: counts of live (knock port, tag) pairs, so a
 * SYN whose port and ISN tag belong to no live sequence is dropped before assembly (a spoofed SYN
 * passes with ~1/256 odds times the pair density). Per assembled triple: the set of live sequence
 * keys, so only a triple that is exactly some live sequence costs a store lookup (the other
 * combinations of one source's packets, and spoofs, are NO_SEQUENCE without a database round trip).
 * Built from the store, updated by the store's push (sequences issued on any gateway); stale
 * entries only make it more permissive.
 */
import { sequenceFromKey, sequenceKey, type KnockRange, type Sequence } from '../../shared/protocol/sequence.js';

/** A sequence key as a Set member (9 bytes → 9 latin1 characters). */
const asMember = (key: Buffer): string => key.toString('latin1');

export class PacketFilter {
  private counts: Uint16Array;
  private keys = new Set<string>();

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

  /** True when `key` (a triple's sequence key) is a live sequence's. */
  hasSequence(key: Buffer): boolean {
    return this.keys.has(asMember(key));
  }

  add(s: Sequence): void {
    this.insert(s, sequenceKey(s));
  }

  /** A stored 9-byte sequence key; one that does not decode is skipped (null). */
  addKey(key: Buffer): Sequence | null {
    let s: Sequence;
    try {
      s = sequenceFromKey(key);
    } catch {
      return null;
    }
    this.insert(s, key);
    return s;
  }

  /** `key` is sequenceKey(s): whichever of the two the caller had, it is not made again. */
  private insert(s: Sequence, key: Buffer): void {
    this.keys.add(asMember(key));
    for (let i = 0; i < 3; i++) {
      const port = s.ports[i]!;
      if (port < this.range.first || port > this.range.last) continue; // issued under an older range
      const ix = this.index(port, s.tags[i]!);
      if (this.counts[ix]! < 0xffff) this.counts[ix]!++;
    }
  }

  /** Replace the contents with exactly these keys. */
  rebuild(keys: Iterable<Buffer>): number {
    this.counts = new Uint16Array(this.counts.length);
    this.keys = new Set();
    let n = 0;
    for (const k of keys) {
      this.addKey(k);
      n++;
    }
    return n;
  }
}

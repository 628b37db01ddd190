/**
 * Deterministic "random" bytes for tests that inject randomness: SHA-256 of `seed:counter`, so a
 * run is the same every time and two seeds never share a stream.
 */
import { createHash } from 'node:crypto';

export function seededBytes(seed: string): (len: number) => Buffer {
  let n = 0;
  return (len: number) => {
    const out = Buffer.alloc(len);
    for (let o = 0; o < len; o += 32) createHash('sha256').update(`${seed}:${n++}`).digest().copy(out, o);
    return out;
  };
}

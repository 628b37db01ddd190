/**
 * One-time knock sequences: three distinct knock ports (sorted ascending) and three 8-bit tags
 * (the high byte of each packet's ISN). The server issues them at random; the 9-byte key is what
 * the store indexes, so a knock finds its device by one lookup (no trial decryption).
 */
import { TumblerError } from '../errors.js';
import { KNOCK_PACKETS, MAX_KNOCK_RANGE, MIN_KNOCK_RANGE, SEQUENCE_KEY_BYTES } from './constants.js';

export interface KnockRange {
  readonly first: number;
  readonly last: number;
}

export interface Sequence {
  /** Destination ports, strictly ascending: packet i of the knock goes to ports[i]. */
  readonly ports: readonly [number, number, number];
  /** High byte of packet i's ISN. */
  readonly tags: readonly [number, number, number];
}

export type RandomBytes = (n: number) => Buffer;

export function knockRangeSize(r: KnockRange): number {
  return r.last - r.first + 1;
}

export function checkKnockRange(r: KnockRange): void {
  const size = knockRangeSize(r);
  if (!Number.isInteger(r.first) || !Number.isInteger(r.last) || r.first < 1 || r.last > 65535 ||
      size < MIN_KNOCK_RANGE || size > MAX_KNOCK_RANGE) {
    throw new TumblerError('SEQUENCE_BAD_RANGE', `knock range must hold ${MIN_KNOCK_RANGE}..${MAX_KNOCK_RANGE} ports`);
  }
}

/** Uniform integer in [0, n) from injected randomness, by rejection sampling (no modulo bias). */
export function uniformInt(n: number, random: RandomBytes): number {
  if (!Number.isInteger(n) || n < 1 || n > 0x10000) throw new TumblerError('SEQUENCE_BAD_RANGE', 'bad bound');
  const limit = 0x10000 - (0x10000 % n);
  for (;;) {
    const v = random(2).readUInt16BE(0);
    if (v < limit) return v % n;
  }
}

/** A fresh random sequence inside the knock range. */
export function generateSequence(range: KnockRange, random: RandomBytes): Sequence {
  checkKnockRange(range);
  const size = knockRangeSize(range);
  const picked = new Set<number>();
  while (picked.size < KNOCK_PACKETS) picked.add(range.first + uniformInt(size, random));
  const ports = [...picked].sort((a, b) => a - b) as [number, number, number];
  const t = random(KNOCK_PACKETS);
  return { ports, tags: [t[0]!, t[1]!, t[2]!] };
}

/** Validate shape: ports ascending and distinct, inside the range when one is given; tags bytes. */
export function checkSequence(s: Sequence, range?: KnockRange): void {
  const [a, b, c] = s.ports;
  const okPorts = [a, b, c].every((p) => Number.isInteger(p) && p >= 1 && p <= 65535) && a < b && b < c;
  const okTags = s.tags.length === 3 && s.tags.every((t) => Number.isInteger(t) && t >= 0 && t <= 255);
  const inRange = !range || (a >= range.first && c <= range.last);
  if (s.ports.length !== 3 || !okPorts || !okTags || !inRange) {
    throw new TumblerError('SEQUENCE_INVALID', 'sequence must be 3 ascending distinct ports in the knock range and 3 byte tags');
  }
}

/** The 9-byte lookup key: u16 port x3 (big-endian) then the three tags. */
export function sequenceKey(s: Sequence): Buffer {
  const k = Buffer.alloc(SEQUENCE_KEY_BYTES);
  k.writeUInt16BE(s.ports[0], 0);
  k.writeUInt16BE(s.ports[1], 2);
  k.writeUInt16BE(s.ports[2], 4);
  k[6] = s.tags[0];
  k[7] = s.tags[1];
  k[8] = s.tags[2];
  return k;
}

export function sequenceFromKey(k: Buffer): Sequence {
  if (k.length !== SEQUENCE_KEY_BYTES) throw new TumblerError('SEQUENCE_INVALID', 'sequence key must be 9 bytes');
  const s: Sequence = {
    ports: [k.readUInt16BE(0), k.readUInt16BE(2), k.readUInt16BE(4)],
    tags: [k[6]!, k[7]!, k[8]!],
  };
  checkSequence(s);
  return s;
}

/**
 * IP address literals: parse (gate: node:net isIP), canonical text, classification, CIDR prefixes.
 * Pure. Canonical IPv6 text is RFC 5952 (lowercase, no leading zeros, longest zero run as "::").
 * Shared by the config parser and the monitor's request validation (server/monitor/validate.ts).
 */
import { isIP } from 'node:net';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  readonly bytes: Uint8Array; // 4 or 16 bytes, network order
  readonly text: string; // canonical text
}

/** Why an address is not an ordinary unicast host address ('unicast' when it is). */
export type AddressKind =
  | 'unicast'
  | 'unspecified' // 0.0.0.0/8, ::
  | 'loopback' // 127.0.0.0/8, ::1
  | 'multicast' // 224.0.0.0/4, ff00::/8
  | 'broadcast' // 255.255.255.255
  | 'v4-mapped' // ::ffff:0:0/96
  | 'v4-compatible'; // ::/96 other than :: and ::1 (deprecated)

/** Parse an address literal (no zone id, no brackets, no prefix). Null when it is not one. */
export function parseIp(text: string): IpAddress | null {
  const family = isIP(text);
  if (family === 4) return fromBytes(4, parseIPv4(text));
  if (family === 6 && !text.includes('%')) return fromBytes(6, parseIPv6(text));
  return null;
}

/** Build an address from raw bytes (4 or 16), with its canonical text. */
export function fromBytes(family: IpFamily, bytes: Uint8Array): IpAddress {
  return { family, bytes, text: family === 4 ? bytes.join('.') : formatIPv6(bytes) };
}

export function classifyIp(a: IpAddress): AddressKind {
  const b = a.bytes;
  if (a.family === 4) {
    if (b[0] === 0) return 'unspecified';
    if (b[0] === 127) return 'loopback';
    if (b[0]! >= 224 && b[0]! <= 239) return 'multicast';
    if (b.every((x) => x === 255)) return 'broadcast';
    return 'unicast';
  }
  if (b[0] === 0xff) return 'multicast';
  const firstTenZero = b.subarray(0, 10).every((x) => x === 0);
  if (firstTenZero && b[10] === 0xff && b[11] === 0xff) return 'v4-mapped';
  if (firstTenZero && b[10] === 0 && b[11] === 0) {
    const low = b.subarray(12);
    if (low.every((x) => x === 0)) return 'unspecified';
    if (low[0] === 0 && low[1] === 0 && low[2] === 0 && low[3] === 1) return 'loopback';
    return 'v4-compatible';
  }
  return 'unicast';
}

/** True when every bit after the first `prefix` bits is zero. */
export function hostBitsZero(a: IpAddress, prefix: number): boolean {
  for (let bit = prefix; bit < a.bytes.length * 8; bit++) {
    if ((a.bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return false;
  }
  return true;
}

function parseIPv4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

/** Expand a syntactically valid IPv6 literal (checked by isIP) to 16 bytes. */
function parseIPv6(text: string): Uint8Array {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIPv4(g);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const [head = '', tail] = text.split('::');
  const hi = groups(head);
  const lo = tail === undefined ? [] : groups(tail);
  const all = [...hi, ...new Array<number>(8 - hi.length - lo.length).fill(0), ...lo];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** RFC 5952 text: the longest run (first on a tie) of two or more zero groups becomes "::". */
function formatIPv6(bytes: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

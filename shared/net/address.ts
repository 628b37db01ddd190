/**
 * IP address text <-> bytes, the one implementation (packet headers, config, the monitor's
 * re-checks). Text is canonical: dotted quad for IPv4, RFC 5952 for IPv6 (lowercase, no leading
 * zeros, the longest run of two or more zero groups — the first on a tie — written "::";
 * IPv4-mapped addresses in hex like every other IPv6 address). Input is validated with node:net isIP.
 */
import { isIP } from 'node:net';
import { TumblerError } from '../errors.js';
import { IPV4_ADDR_LEN, IPV6_ADDR_LEN } from '../packet/constants.js';

export type IpFamily = 4 | 6;

export interface AddressBytes {
  readonly family: IpFamily;
  readonly bytes: Buffer;
}

/** True when `a` has as many bytes as its family needs: 4 for IPv4, 16 for IPv6. */
export function isAddressBytes(a: AddressBytes): boolean {
  return (a.family === 4 && a.bytes.length === IPV4_ADDR_LEN) || (a.family === 6 && a.bytes.length === IPV6_ADDR_LEN);
}

/** Dotted quad of the 4 bytes at buf[off]. */
export function formatIPv4At(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** RFC 5952 text of the 16 bytes at buf[off]. Hand-rolled (no arrays) for the capture loop. */
export function formatIPv6At(buf: Uint8Array, off: number): string {
  // Longest run of zero groups; strict ">" keeps the first on a tie; a single zero is not a run.
  let bestAt = -1;
  let bestLen = 1;
  let runAt = -1;
  for (let i = 0; i < 8; i++) {
    if ((buf[off + 2 * i]! | buf[off + 2 * i + 1]!) === 0) {
      if (runAt < 0) runAt = i;
      if (i + 1 - runAt > bestLen) {
        bestAt = runAt;
        bestLen = i + 1 - runAt;
      }
    } else {
      runAt = -1;
    }
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += ((buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!).toString(16);
  }
  return out;
}

/** Canonical text of an address given as bytes (4 for IPv4, 16 for IPv6). Throws ADDRESS_INVALID. */
export function formatAddress(family: IpFamily, bytes: Uint8Array): string {
  if (family === 4 && bytes.length === IPV4_ADDR_LEN) return formatIPv4At(bytes, 0);
  if (family === 6 && bytes.length === IPV6_ADDR_LEN) return formatIPv6At(bytes, 0);
  throw new TumblerError('ADDRESS_INVALID', `need ${family === 4 ? 4 : 16} address bytes for IPv${family === 4 ? 4 : 6}`);
}

/**
 * Address literal → family and bytes. No brackets, zone ids or prefixes. IPv4-mapped IPv6 text
 * ("::ffff:192.0.2.1") is IPv6. Throws ADDRESS_INVALID.
 */
export function parseAddress(text: string): AddressBytes {
  const family = typeof text === 'string' ? isIP(text) : 0;
  if (family === 4) return { family: 4, bytes: parseIPv4(text) };
  if (family === 6 && !text.includes('%')) return { family: 6, bytes: parseIPv6(text) };
  throw new TumblerError('ADDRESS_INVALID', 'not an IP address literal');
}

/** The bytes of `text`, which must be an address of `family`. Throws ADDRESS_INVALID. */
export function addressBytesOf(family: IpFamily, text: string): Buffer {
  const a = parseAddress(text);
  if (a.family !== family) throw new TumblerError('ADDRESS_INVALID', `not an IPv${family} address`);
  return a.bytes;
}

/** Dotted quad → 4 bytes (already validated by isIP). */
function parseIPv4(text: string): Buffer {
  const b = Buffer.alloc(IPV4_ADDR_LEN);
  const parts = text.split('.');
  for (let i = 0; i < IPV4_ADDR_LEN; i++) b[i] = Number(parts[i]);
  return b;
}

/** IPv6 literal (already validated by isIP; may end in a dotted quad) → 16 bytes. */
function parseIPv6(text: string): Buffer {
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
  const dbl = text.indexOf('::');
  const head = groups(dbl < 0 ? text : text.slice(0, dbl));
  const tail = dbl < 0 ? [] : groups(text.slice(dbl + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  if (all.length !== 8) throw new TumblerError('ADDRESS_INVALID', 'not an IPv6 address literal');
  const b = Buffer.alloc(IPV6_ADDR_LEN);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(all[i]!, 2 * i);
  return b;
}

/**
 * IP address literals for the server: parse and canonical text (shared/net/address.ts), classification,
 * CIDR host bits. Pure. Canonical IPv6 text is RFC 5952 (lowercase, no leading zeros, longest zero run as "::").
 * Shared by the config parser and the monitor's request validation (server/monitor/validate.ts).
 */
import { formatAddress, parseAddress, type IpFamily } from '../../shared/net/address.js';

export type { IpFamily };

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
  try {
    const a = parseAddress(text);
    return fromBytes(a.family, a.bytes);
  } catch {
    return null; // ADDRESS_INVALID: not an address literal
  }
}

/** Build an address from raw bytes (4 or 16), with its canonical text. */
export function fromBytes(family: IpFamily, bytes: Uint8Array): IpAddress {
  return { family, bytes, text: formatAddress(family, bytes) };
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

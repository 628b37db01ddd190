/**
 * Defense in depth for everything interpolated into nft, iptables or ipset syntax: each value is
 * checked again here, whatever the caller validated, so a bad value can never become syntax.
 * Addresses come back in canonical text (IPv4 dotted quad, IPv6 RFC 5952), the form the kernel
 * listing is compared in. Error code: FIREWALL_BAD_VALUE.
 */
import { isIP } from 'node:net';
import { TumblerError } from '../../../shared/errors.js';
import { MAX_ADDRESS_TEXT } from '../../../shared/ipc/constants.js';
import type { IpFamily } from '../../../shared/net/address.js';
import { fromBytes, parseIp } from '../../config/address.js';
import { MAX_MAX_TTL_SEC, SERVICE_NAME } from '../../config/limits.js';

const TABLE_RE = /^[a-z][a-z0-9_]{0,15}$/;

function bad(what: string): never {
  throw new TumblerError('FIREWALL_BAD_VALUE', `invalid ${what} for the firewall`);
}

/** Canonical text of an address literal of `family`, or null (names, zone ids, prefixes, other family). */
export function canonicalAddress(family: IpFamily, text: string): string | null {
  if (typeof text !== 'string' || text.length > MAX_ADDRESS_TEXT || text.includes('%')) return null;
  const a = parseIp(text);
  return a && a.family === family ? a.text : null;
}

export function checkAddress(family: IpFamily, text: string): string {
  return canonicalAddress(family, text) ?? bad(`IPv${family} address`);
}

export function checkFamily(family: unknown): IpFamily {
  return family === 4 || family === 6 ? family : bad('address family');
}

export function checkPort(port: number): number {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : bad('port');
}

export function checkTtl(ttlSec: number, maxSec: number): number {
  return Number.isInteger(ttlSec) && ttlSec >= 1 && ttlSec <= Math.min(maxSec, MAX_MAX_TTL_SEC) ? ttlSec : bad('ttl');
}

export function checkService(name: string): string {
  return typeof name === 'string' && SERVICE_NAME.test(name) ? name : bad('service name');
}

/** Our table name (nft) or object prefix (iptables chains, ipsets). */
export function checkTable(name: string): string {
  return typeof name === 'string' && TABLE_RE.test(name) ? name : bad('table name');
}

/** "addr/prefix" → canonical "network/prefix" (host bits cleared) and its family. */
export function checkCidr(text: string): { family: IpFamily; cidr: string } {
  const m = typeof text === 'string' ? /^([^/]+)\/(\d{1,3})$/.exec(text) : null;
  if (!m) bad('CIDR prefix');
  const family = isIP(m[1]!) as 0 | IpFamily;
  if (family === 0) bad('CIDR prefix');
  const prefix = Number(m[2]);
  if (prefix > (family === 4 ? 32 : 128)) bad('CIDR prefix length');
  checkAddress(family, m[1]!);
  const masked = parseIp(m[1]!)!.bytes.map((v, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return keep === 0 ? 0 : v & (((1 << keep) - 1) << (8 - keep));
  });
  return { family, cidr: `${fromBytes(family, masked).text}/${prefix}` };
}

/** Key for comparing grants whatever the address spelling. */
export function grantKeyString(family: IpFamily, address: string, port: number): string {
  return `${family}|${canonicalAddress(family, address) ?? address}|${port}`;
}

/**
 * Which gateway addresses `tumbler open` tries, in order (docs/protocol.md §8): with --gateway,
 * only that one (it must be one of the profile's); else the address that answered last, then the
 * rest of its gateway, then the other gateways in the bundle's order. Within a gateway, the family
 * the host prefers first: IPv6, as RFC 6724's default policy (and so ssh) does, unless the host's
 * /etc/gai.conf raises IPv4-mapped addresses (::ffff:0:0/96) above IPv6's precedence of 40.
 */
import { readFileSync } from 'node:fs';
import { TumblerError } from '../../shared/errors.js';
import { formatAddress, parseAddress, type IpFamily } from '../../shared/net/address.js';
import { gatewayAddresses, type Profile } from '../state/schema.js';

const DEFAULT_IPV6_PRECEDENCE = 40;

/** The family getaddrinfo would sort first on this host (gai.conf's precedence for ::ffff:0:0/96). */
export function hostPreferredFamily(gaiConf?: string): IpFamily {
  let text = gaiConf;
  if (text === undefined) {
    try {
      text = readFileSync('/etc/gai.conf', 'utf8');
    } catch {
      return 6;
    }
  }
  for (const raw of text.split('\n')) {
    const m = /^\s*precedence\s+::ffff:0:0\/96\s+(\d+)\s*(?:#.*)?$/.exec(raw);
    if (m && Number(m[1]) > DEFAULT_IPV6_PRECEDENCE) return 4;
  }
  return 6;
}

const familyOf = (a: string): IpFamily => parseAddress(a).family;

/** The addresses to try, in order. Throws GATEWAY_UNKNOWN when --gateway names none of the profile's. */
export function orderTargets(p: Pick<Profile, 'gateways' | 'lastAnswered'>, prefer: IpFamily, gateway?: string): string[] {
  if (gateway !== undefined) {
    let canonical: string;
    try {
      const a = parseAddress(gateway);
      canonical = formatAddress(a.family, a.bytes);
    } catch {
      throw new TumblerError('BAD_ARGUMENT', '--gateway must be an IP address literal');
    }
    if (!gatewayAddresses(p).includes(canonical)) {
      throw new TumblerError('GATEWAY_UNKNOWN', `${canonical} is not a gateway of this profile (it has: ${gatewayAddresses(p).join(', ')})`);
    }
    return [canonical];
  }
  const byPreference = (g: readonly string[]): string[] =>
    [...g].sort((a, b) => Number(familyOf(b) === prefer) - Number(familyOf(a) === prefer));
  const first = p.gateways.findIndex((g) => p.lastAnswered !== undefined && g.includes(p.lastAnswered));
  const order = first < 0 ? p.gateways : [p.gateways[first]!, ...p.gateways.filter((_, i) => i !== first)];
  const out = order.flatMap(byPreference); // sort is stable: the bundle's order within a family
  return first < 0 ? out : [p.lastAnswered!, ...out.filter((a) => a !== p.lastAnswered)];
}

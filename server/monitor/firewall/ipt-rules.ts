/**
 * iptables/ip6tables + ipset syntax for the iptables backend (pure; values re-checked by plan.ts).
 *
 * One ipset per service and family, `<prefix>-<id>-4|6` (hash:ip,port, per-element timeout): a
 * member "client,tcp:forward-port" is a grant. In the nat table, chain <PREFIX>-PRE (jumped to
 * from PREROUTING) has one rule per service, family and server address:
 *   -d 192.0.2.1 -p tcp -m set --match-set tumbler-1-4 src,dst -j DNAT --to-destination 192.0.2.1:22
 * In the filter table, <PREFIX>-INPUT (from INPUT) and <PREFIX>-FORWARD (from FORWARD):
 *   accept granted connections (ctstate DNAT whose original port is in the forward range), hand
 *   established traffic back to the admin's chain (RETURN), accept break-glass sources to the
 *   service ports, then DROP (never reject) the knock range, the forward range, service ports of
 *   targets on this host and each target address:port. Everything else RETURNs untouched.
 * Our chains are rewritten atomically with `iptables-restore --noflush`; grants live in the ipsets
 * and survive a reinstall. Gateway mode needs IP forwarding, enabled by the admin.
 */
import { MAX_GRANTS } from '../../../shared/ipc/constants.js';
import type { FirewallPlan, PlanService } from './plan.js';
import type { IpFamily } from '../../../shared/net/address.js';

export interface IptNames {
  readonly pre: string;
  readonly input: string;
  readonly forward: string;
  readonly setPrefix: string;
}

export function iptNames(prefix: string): IptNames {
  const P = prefix.toUpperCase();
  return { pre: `${P}-PRE`, input: `${P}-INPUT`, forward: `${P}-FORWARD`, setPrefix: prefix };
}

export function setName(names: IptNames, serviceId: number, family: IpFamily): string {
  return `${names.setPrefix}-${serviceId}-${family}`;
}

/** Parse one of our set names back to (service id, family), or null when it is not ours. */
export function parseSetName(names: IptNames, name: string): { id: number; family: IpFamily } | null {
  const m = /^(.+)-(\d{1,2})-([46])$/.exec(name);
  if (!m || m[1] !== names.setPrefix) return null;
  return { id: Number(m[2]), family: Number(m[3]) as IpFamily };
}

/** Services that have a target of `family`. */
export function servicesOf(plan: FirewallPlan, family: IpFamily): PlanService[] {
  return plan.services.filter((s) => (family === 4 ? s.target4 : s.target6) !== null);
}

/** `ipset restore -exist` input creating our sets (kept with their members when they exist). */
export function ipsetCreateScript(plan: FirewallPlan, names: IptNames): string {
  const lines: string[] = [];
  for (const family of [4, 6] as const) {
    for (const s of servicesOf(plan, family)) {
      lines.push(`create ${setName(names, s.id, family)} hash:ip,port family ${family === 4 ? 'inet' : 'inet6'} timeout 0 maxelem ${MAX_GRANTS}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

const multiport = (ports: readonly number[]): string[] => {
  const out: string[] = [];
  for (let i = 0; i < ports.length; i += 15) out.push(ports.slice(i, i + 15).join(','));
  return out;
};

/** `iptables-restore --noflush` (or ip6tables-restore) input that rewrites our chains for one family. */
export function restoreScript(plan: FirewallPlan, names: IptNames, family: IpFamily): string {
  const addresses = family === 4 ? plan.addresses4 : plan.addresses6;
  const breakGlass = family === 4 ? plan.breakGlass4 : plan.breakGlass6;
  const targets = family === 4 ? plan.targets4 : plan.targets6;
  const fmt = (host: string, port: number): string => (family === 4 ? `${host}:${port}` : `[${host}]:${port}`);
  const fwd = `${plan.forward.first}:${plan.forward.last}`;
  const L: string[] = ['*nat', `:${names.pre} - [0:0]`];
  for (const s of servicesOf(plan, family)) {
    const t = (family === 4 ? s.target4 : s.target6)!;
    for (const a of addresses) {
      L.push(`-A ${names.pre} -d ${a} -p tcp -m set --match-set ${setName(names, s.id, family)} src,dst -j DNAT --to-destination ${fmt(t.host, t.port)}`);
    }
  }
  L.push('COMMIT', '*filter', `:${names.input} - [0:0]`, `:${names.forward} - [0:0]`);
  L.push(`-A ${names.input} -p tcp -m conntrack --ctstate DNAT --ctorigdstport ${fwd} -j ACCEPT`);
  L.push(`-A ${names.input} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN`);
  for (const cidr of breakGlass) {
    for (const ports of multiport(plan.servicePorts)) L.push(`-A ${names.input} -s ${cidr} -p tcp -m multiport --dports ${ports} -j ACCEPT`);
  }
  L.push(`-A ${names.input} -p tcp --dport ${plan.knock.first}:${plan.knock.last} -j DROP`);
  L.push(`-A ${names.input} -p tcp --dport ${fwd} -j DROP`);
  for (const ports of multiport(plan.localServicePorts)) L.push(`-A ${names.input} -p tcp -m multiport --dports ${ports} -j DROP`);
  for (const t of targets) L.push(`-A ${names.input} -d ${t.host} -p tcp --dport ${t.port} -j DROP`);
  L.push(`-A ${names.forward} -p tcp -m conntrack --ctstate DNAT --ctorigdstport ${fwd} -j ACCEPT`);
  L.push('COMMIT');
  return `${L.join('\n')}\n`;
}

/** An ipset member for a grant: "198.51.100.7,tcp:50123". */
export function member(address: string, port: number): string {
  return `${address},tcp:${port}`;
}

/**
 * nftables syntax for our own table (pure; every value re-checked by plan.ts / values.ts):
 *
 *   table inet tumbler {
 *     map grants4 { type ipv4_addr . inet_service : ipv4_addr . inet_service; flags timeout; size 65536; }
 *     map grants6 { type ipv6_addr . inet_service : ipv6_addr . inet_service; flags timeout; size 65536; }
 *     chain prerouting { type nat hook prerouting priority dstnat; policy accept;
 *       meta nfproto ipv4 ip daddr { <our v4 addresses> } dnat ip to ip saddr . tcp dport map @grants4
 *       meta nfproto ipv6 ip6 daddr { <our v6 addresses> } dnat ip6 to ip6 saddr . tcp dport map @grants6 }
 *     chain input { type filter hook input priority filter; policy accept;
 *       ct state established,related accept     # replies, and sessions that outlive their grant
 *       meta l4proto tcp ct status dnat ct original proto-dst <forward range> accept
 *                                                # granted connections to a target on this host
 *                                                # (only ours: not another tool's DNAT or REDIRECT)
 *       ip saddr { <break-glass> } tcp dport { <service ports> } accept   (and ip6)
 *       tcp dport <knock range> drop             # silence: drop, never reject
 *       tcp dport <forward range> drop           # a forward port without a grant
 *       tcp dport { <ports of targets on this host> } drop
 *       ip daddr . tcp dport { <each target> } drop   (and ip6) }
 *     chain forward { type filter hook forward priority filter; policy accept;
 *       meta l4proto tcp ct status dnat ct original proto-dst <forward range> accept }
 *                                                # grants to internal hosts
 *   }
 *
 * Gateway mode (a target on another host) needs IP forwarding, which the admin enables
 * (net.ipv4.ip_forward=1 / net.ipv6.conf.all.forwarding=1); tumblerd never changes sysctls. The
 * internal host must route its replies back through this host. An accept here does not override
 * a drop in another table at the same hook (`tumblerd doctor` checks for that).
 *
 * Each grant is a map element with a kernel timeout and the service name as element comment:
 *   198.51.100.7 . 50123 timeout 30s comment "ssh" : 192.0.2.1 . 22
 * The maps hold at most MAX_GRANTS elements each (the monitor refuses more before the kernel does).
 */
import { MAX_GRANTS } from '../../../shared/ipc/constants.js';
import { layoutKey, type Shape } from './drift.js';
import type { FirewallPlan, PlanTarget } from './plan.js';
import type { IpFamily } from '../../../shared/net/address.js';

const MAP4 = 'grants4';
const MAP6 = 'grants6';

export function mapName(family: IpFamily): string {
  return family === 4 ? MAP4 : MAP6;
}

const set = (xs: readonly (string | number)[]): string => `{ ${xs.join(', ')} }`;
const targets = (ts: readonly PlanTarget[]): string => set(ts.map((t) => `${t.host} . ${t.port}`));

/** The commands of install(), to run as ONE transaction. Creates what is missing, rewrites our chains, keeps map elements. */
export function installCommands(plan: FirewallPlan, table: string): string[] {
  const T = `inet ${table}`;
  const cmds = [
    `add table ${T}`,
    `add map ${T} ${MAP4} { type ipv4_addr . inet_service : ipv4_addr . inet_service; flags timeout; size ${MAX_GRANTS}; }`,
    `add map ${T} ${MAP6} { type ipv6_addr . inet_service : ipv6_addr . inet_service; flags timeout; size ${MAX_GRANTS}; }`,
    `add chain ${T} prerouting { type nat hook prerouting priority dstnat; policy accept; }`,
    `add chain ${T} input { type filter hook input priority filter; policy accept; }`,
    `add chain ${T} forward { type filter hook forward priority filter; policy accept; }`,
    `flush chain ${T} prerouting`,
    `flush chain ${T} input`,
    `flush chain ${T} forward`,
  ];
  const rule = (chain: string, r: string): void => {
    cmds.push(`add rule ${T} ${chain} ${r}`);
  };
  if (plan.addresses4.length > 0) rule('prerouting', `meta nfproto ipv4 ip daddr ${set(plan.addresses4)} dnat ip to ip saddr . tcp dport map @${MAP4}`);
  if (plan.addresses6.length > 0) rule('prerouting', `meta nfproto ipv6 ip6 daddr ${set(plan.addresses6)} dnat ip6 to ip6 saddr . tcp dport map @${MAP6}`);

  // Only connections DNAT'd by our own maps: their original destination port is a forward port.
  const granted = `meta l4proto tcp ct status dnat ct original proto-dst ${plan.forward.first}-${plan.forward.last} accept`;
  rule('input', 'ct state established,related accept');
  rule('input', granted);
  if (plan.servicePorts.length > 0) {
    if (plan.breakGlass4.length > 0) rule('input', `meta nfproto ipv4 ip saddr ${set(plan.breakGlass4)} tcp dport ${set(plan.servicePorts)} accept`);
    if (plan.breakGlass6.length > 0) rule('input', `meta nfproto ipv6 ip6 saddr ${set(plan.breakGlass6)} tcp dport ${set(plan.servicePorts)} accept`);
  }
  rule('input', `tcp dport ${plan.knock.first}-${plan.knock.last} drop`);
  rule('input', `tcp dport ${plan.forward.first}-${plan.forward.last} drop`);
  if (plan.localServicePorts.length > 0) rule('input', `tcp dport ${set(plan.localServicePorts)} drop`);
  if (plan.targets4.length > 0) rule('input', `meta nfproto ipv4 ip daddr . tcp dport ${targets(plan.targets4)} drop`);
  if (plan.targets6.length > 0) rule('input', `meta nfproto ipv6 ip6 daddr . tcp dport ${targets(plan.targets6)} drop`);

  rule('forward', granted);
  return cmds;
}

/** What installCommands() writes, as a drift Shape: the table, each chain with its rule count, the maps. */
export function installShape(cmds: readonly string[], table: string): Shape {
  const shape = new Map<string, number>([[layoutKey('table', `inet ${table}`), 0]]);
  const prefix = `inet ${table} `;
  for (const c of cmds) {
    const m = /^add (chain|map|rule) (\S+ \S+ )(\S+)/.exec(c);
    if (!m || m[2] !== prefix) continue;
    const [, what, , name] = m as unknown as [string, 'chain' | 'map' | 'rule', string, string];
    if (what === 'map') shape.set(layoutKey('map', name), 0);
    if (what === 'chain') shape.set(layoutKey('chain', name), 0);
    if (what === 'chain' || what === 'rule') shape.set(layoutKey('rule', name), (shape.get(layoutKey('rule', name)) ?? 0) + (what === 'rule' ? 1 : 0));
  }
  return shape;
}

/** A map element key: "198.51.100.7 . 50123". */
export function elementKey(address: string, port: number): string {
  return `${address} . ${port}`;
}

/** A full map element with timeout and service comment. */
export function element(address: string, port: number, ttlSec: number, service: string, target: PlanTarget): string {
  return `${elementKey(address, port)} timeout ${ttlSec}s comment "${service}" : ${target.host} . ${target.port}`;
}

/**
 * The iptables backend's state as a Layout (drift.ts): from `iptables-save` / `ip6tables-save`
 * text, our chains (nat TUMBLER-PRE, filter TUMBLER-INPUT and TUMBLER-FORWARD), their rules in
 * order, and the jumps to them from PREROUTING, INPUT and FORWARD; from `ipset list -n`, our sets.
 * Counters and comments of the save format are left out of the prints.
 */
import type { IpFamily } from '../../../shared/net/address.js';
import { layoutKey, type LayoutBuilder, type Shape } from './drift.js';
import type { IptNames } from './ipt-rules.js';

/** Our chains and the built-in chain that jumps to each, by table. */
function ourChains(names: IptNames): ReadonlyArray<{ table: 'nat' | 'filter'; from: string; chain: string }> {
  return [
    { table: 'nat', from: 'PREROUTING', chain: names.pre },
    { table: 'filter', from: 'INPUT', chain: names.input },
    { table: 'filter', from: 'FORWARD', chain: names.forward },
  ];
}

/** The tool of a family, as named in drift reports. */
export function iptTool(family: IpFamily): 'iptables' | 'ip6tables' {
  return family === 4 ? 'iptables' : 'ip6tables';
}

/** Add one family's chains, rules and jumps from its save output to `b`. */
export function addIptLayout(b: LayoutBuilder, saved: string, family: IpFamily, names: IptNames): void {
  // Table → its chain declarations and rule lines, in order.
  const tables = new Map<string, { chains: Set<string>; rules: string[] }>();
  let current: { chains: Set<string>; rules: string[] } | undefined;
  for (const raw of saved.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      current = { chains: new Set(), rules: [] };
      tables.set(line.slice(1), current);
    } else if (current && line.startsWith(':')) {
      current.chains.add(line.slice(1).split(' ')[0]!);
    } else if (current && line.startsWith('-A ')) {
      current.rules.push(line);
    }
  }
  const tool = iptTool(family);
  for (const { table, from, chain } of ourChains(names)) {
    const t = tables.get(table);
    if (!t || !t.chains.has(chain)) continue;
    const chainKey = b.add('chain', chainName(tool, table, chain));
    b.add('rule', chainName(tool, table, chain), t.rules.filter((r) => r.startsWith(`-A ${chain} `)).join('\n'), chainKey);
    if (t.rules.includes(`-A ${from} -j ${chain}`)) b.add('jump', jumpName(tool, table, from, chain), '', chainKey);
  }
}

const chainName = (tool: string, table: string, chain: string): string => `${tool} ${table} ${chain}`;
const jumpName = (tool: string, table: string, from: string, chain: string): string => `${tool} ${table} ${from} -> ${chain}`;

/**
 * What install() writes, as a drift Shape: per family its chains with the number of rules of its
 * restore script (`scripts`), the jumps to them, and the sets.
 */
export function iptShape(names: IptNames, scripts: ReadonlyMap<IpFamily, string>, sets: Iterable<string>): Shape {
  const shape = new Map<string, number>();
  for (const [family, script] of scripts) {
    const tool = iptTool(family);
    for (const { table, from, chain } of ourChains(names)) {
      shape.set(layoutKey('chain', chainName(tool, table, chain)), 0);
      shape.set(layoutKey('rule', chainName(tool, table, chain)), script.split('\n').filter((l) => l.startsWith(`-A ${chain} `)).length);
      shape.set(layoutKey('jump', jumpName(tool, table, from, chain)), 0);
    }
  }
  for (const set of sets) shape.set(layoutKey('ipset', set), 0);
  return shape;
}

/** Add the sets named in `ipset list -n` output that are in `ours`. */
export function addIpsetLayout(b: LayoutBuilder, listed: string, ours: ReadonlySet<string>): void {
  for (const raw of listed.split('\n')) {
    const name = raw.trim();
    if (ours.has(name)) b.add('ipset', name);
  }
}


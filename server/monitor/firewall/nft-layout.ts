/**
 * Our nft table as a Layout (drift.ts), from `nft -j -t list table inet T` (terse: map elements
 * left out, so the cost does not grow with the grants). Prints keep what decides behaviour — a
 * chain's type, hook, priority and policy; a map's types, flags and size; each rule's
 * expressions in order — and leave out handles, which change on every rewrite.
 */
import { TumblerError } from '../../../shared/errors.js';
import { LayoutBuilder, layoutKey, type Layout } from './drift.js';

interface NftObject {
  table?: { name?: unknown };
  chain?: { name?: unknown; type?: unknown; hook?: unknown; prio?: unknown; policy?: unknown };
  map?: { name?: unknown; type?: unknown; map?: unknown; flags?: unknown; size?: unknown };
  rule?: { chain?: unknown; expr?: unknown };
}

/** The layout of table `table` (family inet) from nft's JSON listing of it. FIREWALL_NFT when it is not one. */
export function parseNftLayout(doc: unknown, table: string): Layout {
  const items = (doc as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(items)) throw new TumblerError('FIREWALL_NFT', 'unexpected nft JSON');
  const b = new LayoutBuilder();
  const tableKey = b.add('table', `inet ${table}`);
  const rules = new Map<string, string[]>();
  for (const it of items as NftObject[]) {
    if (it.chain && typeof it.chain.name === 'string') {
      const { type, hook, prio, policy } = it.chain;
      b.add('chain', it.chain.name, JSON.stringify([type, hook, prio, policy]), tableKey);
      if (!rules.has(it.chain.name)) rules.set(it.chain.name, []);
    } else if (it.map && typeof it.map.name === 'string') {
      const { type, map, flags, size } = it.map;
      b.add('map', it.map.name, JSON.stringify([type, map, flags, size]), tableKey);
    } else if (it.rule && typeof it.rule.chain === 'string') {
      const list = rules.get(it.rule.chain) ?? [];
      list.push(JSON.stringify(it.rule.expr));
      rules.set(it.rule.chain, list);
    }
  }
  for (const [chain, exprs] of rules) b.add('rule', chain, exprs.join('\n'), layoutKey('chain', chain));
  return b.build();
}

/**
 * Coexistence with other firewall rules (for `tumblerd doctor`). A grant DNATs the forward port
 * to the service; that traffic then passes the input hook (target on this host) or the forward
 * hook (target on another host) of EVERY table, and an accept in one table does not override a
 * drop in another. So another table's filter chain at those hooks that drops (policy drop, or a
 * drop/reject rule, also through jump/goto) before accepting `ct status dnat` will drop granted
 * connections. Pure: input is `nft -j list ruleset` JSON or `iptables -S CHAIN` text.
 */

export type Hook = 'input' | 'forward';

export interface DropRisk {
  readonly table: string; // "inet filter"
  readonly chain: string;
  readonly hook: Hook;
  readonly why: string; // "policy drop", "drop rule (handle 5)"
  readonly fix: string; // the command the admin should add
}

interface NftChain { family: string; table: string; name: string; hook?: string; type?: string; policy?: string }
interface NftRule { family: string; table: string; chain: string; handle?: number; expr?: unknown[] }

const FAMILIES_AT_IP_HOOKS = new Set(['ip', 'ip6', 'inet']);
const MAX_JUMP_DEPTH = 16;

/** Chains of other tables at the given hooks that can drop DNAT'd traffic. */
export function nftDropRisks(ruleset: unknown, own: { family: string; table: string }, hooks: ReadonlySet<Hook>): DropRisk[] {
  const items = (ruleset as { nftables?: unknown[] })?.nftables;
  if (!Array.isArray(items)) return [];
  const chains: NftChain[] = [];
  const rules = new Map<string, NftRule[]>();
  for (const it of items) {
    const o = it as { chain?: NftChain; rule?: NftRule };
    if (o.chain) chains.push(o.chain);
    if (o.rule) {
      const k = chainKey(o.rule.family, o.rule.table, o.rule.chain);
      rules.set(k, [...(rules.get(k) ?? []), o.rule]);
    }
  }
  const risks: DropRisk[] = [];
  for (const c of chains) {
    if (!c.hook || !hooks.has(c.hook as Hook) || !FAMILIES_AT_IP_HOOKS.has(c.family)) continue;
    if (c.family === own.family && c.table === own.table) continue;
    const why = firstDropBeforeDnatAccept(c, rules);
    if (!why) continue;
    risks.push({
      table: `${c.family} ${c.table}`,
      chain: c.name,
      hook: c.hook as Hook,
      why,
      fix: `nft insert rule ${c.family} ${c.table} ${c.name} ct status dnat accept`,
    });
  }
  return risks;
}

function chainKey(family: string, table: string, chain: string): string {
  return `${family}\u0000${table}\u0000${chain}`;
}

/** Why the chain drops DNAT'd packets before accepting them, or null when it does not. */
function firstDropBeforeDnatAccept(c: NftChain, rules: Map<string, NftRule[]>): string | null {
  for (const r of rules.get(chainKey(c.family, c.table, c.name)) ?? []) {
    const expr = r.expr ?? [];
    if (acceptsDnat(expr)) return null;
    if (hasDropVerdict(expr)) return `drop rule (handle ${r.handle ?? '?'})`;
    const target = jumpTarget(expr);
    if (target && chainDrops(c.family, c.table, target, rules, 1)) return `jump to chain "${target}" that drops (handle ${r.handle ?? '?'})`;
  }
  return c.policy === 'drop' ? 'policy drop' : null;
}

function chainDrops(family: string, table: string, name: string, rules: Map<string, NftRule[]>, depth: number): boolean {
  if (depth > MAX_JUMP_DEPTH) return false;
  for (const r of rules.get(chainKey(family, table, name)) ?? []) {
    const expr = r.expr ?? [];
    if (acceptsDnat(expr)) return false;
    if (hasDropVerdict(expr)) return true;
    const target = jumpTarget(expr);
    if (target && chainDrops(family, table, target, rules, depth + 1)) return true;
  }
  return false;
}

function hasDropVerdict(expr: unknown[]): boolean {
  return expr.some((e) => typeof e === 'object' && e !== null && ('drop' in e || 'reject' in e));
}

function jumpTarget(expr: unknown[]): string | null {
  for (const e of expr) {
    const j = (e as { jump?: { target?: string }; goto?: { target?: string } }) ?? {};
    const t = j.jump?.target ?? j.goto?.target;
    if (typeof t === 'string') return t;
  }
  return null;
}

/** An accept rule with a `ct status` match that includes dnat. */
function acceptsDnat(expr: unknown[]): boolean {
  const accepts = expr.some((e) => typeof e === 'object' && e !== null && 'accept' in e);
  return accepts && expr.some((e) => {
    const m = (e as { match?: { left?: unknown; right?: unknown } }).match;
    return m !== undefined && isCtStatus(m.left) && mentionsDnat(m.right);
  });
}

function isCtStatus(left: unknown): boolean {
  const ct = (x: unknown): boolean => (x as { ct?: { key?: string } })?.ct?.key === 'status';
  if (ct(left)) return true;
  const and = (left as { '&'?: unknown[] })?.['&'];
  return Array.isArray(and) && and.some(ct);
}

function mentionsDnat(right: unknown): boolean {
  if (right === 'dnat') return true;
  if (Array.isArray(right)) return right.includes('dnat');
  const set = (right as { set?: unknown[] })?.set;
  return Array.isArray(set) && set.includes('dnat');
}

/**
 * `iptables -S CHAIN` output: a DROP policy or a DROP/REJECT rule reached before either an accept
 * of ctstate DNAT or the jump to our own chain (`ownChain`, which accepts granted connections
 * first; the backend inserts that jump at position 1). With no jump and no DROP the chain is safe.
 */
export function iptablesDropRisk(text: string, chain: 'INPUT' | 'FORWARD', tool = 'iptables', ownChain?: string): DropRisk | null {
  let policyDrop = false;
  let dropRule: string | null = null;
  let ownJump = false;
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === `-P ${chain} DROP`) policyDrop = true;
    if (!line.startsWith(`-A ${chain} `) || dropRule !== null) continue;
    if (ownChain !== undefined && line === `-A ${chain} -j ${ownChain}`) { ownJump = true; break; }
    if (/--ctstate\s+(\S*,)?DNAT(,\S*)?\b/.test(line) && /-j ACCEPT\b/.test(line)) return null;
    if (/-j (DROP|REJECT)\b/.test(line)) dropRule = line;
  }
  if (ownJump) return null;
  const why = dropRule !== null ? `rule "${dropRule}"` : policyDrop ? 'policy DROP' + (ownChain ? ` (and no jump to ${ownChain} yet)` : '') : null;
  if (!why) return null;
  return {
    table: tool === 'iptables' ? 'ip filter' : 'ip6 filter',
    chain,
    hook: chain === 'INPUT' ? 'input' : 'forward',
    why,
    fix: `${tool} -I ${chain} 1 -m conntrack --ctstate DNAT -j ACCEPT`,
  };
}

/**
 * The nftables backend (default): our own table (`inet tumbler`), never any other. Grants are
 * elements of the maps grants4/grants6 with per-element kernel timeouts, so the kernel closes
 * them even when no tumblerd process is alive. Updates go through one long-lived `nft -i` child
 * (line-session.ts), one line = one transaction; listings use `nft -j list map` (JSON).
 * See nft-rules.ts for the ruleset.
 *
 * Errors: FIREWALL_BAD_VALUE, FIREWALL_NO_TARGET (values), FIREWALL_NFT (nft refused a command),
 * FIREWALL_NOT_INSTALLED (open before install), and the child's: FIREWALL_START, FIREWALL_EXITED,
 * FIREWALL_TIMEOUT, FIREWALL_PROTOCOL, FIREWALL_DISPOSED.
 */
import { TumblerError } from '../../../shared/errors.js';
import type { TumblerConfig } from '../../config/types.js';
import { element, elementKey, installCommands, mapName } from './nft-rules.js';
import { LineSession, NFT_MARKER } from './line-session.js';
import { checkForwardPort, makePlan, targetOf, type FirewallPlan } from './plan.js';
import { firstErrorLine, runTool } from './run.js';
import { NO_EXPIRY, type Family, type FirewallBackend, type FirewallOptions, type Grant, type GrantKey, type KernelGrant } from './types.js';
import { canonicalAddress, checkAddress, checkFamily, checkPort, checkService, checkTable, checkTtl, grantKeyString } from './values.js';

type NftFailure = 'ENOENT' | 'EEXIST' | 'OTHER';

/** Classify what nft wrote on stderr for one command line; null = success. */
function failureOf(stderr: string): NftFailure | null {
  if (!/^Error:/m.test(stderr)) return null;
  if (/No such file or directory/.test(stderr)) return 'ENOENT';
  if (/File exists/.test(stderr)) return 'EEXIST';
  return 'OTHER';
}

const DELETE_CHUNK = 256;

export class NftablesBackend implements FirewallBackend {
  private readonly plan: FirewallPlan;
  private readonly table: string;
  private readonly prefix: readonly string[];
  private readonly timeoutMs: number;
  private readonly session: LineSession;

  constructor(cfg: TumblerConfig, opts: FirewallOptions = {}) {
    this.plan = makePlan(cfg);
    this.table = checkTable(opts.table ?? 'tumbler');
    this.prefix = opts.commandPrefix ?? [];
    this.timeoutMs = opts.commandTimeoutMs ?? 10_000;
    this.session = new LineSession([...this.prefix, 'nft', '-i'], NFT_MARKER, this.timeoutMs);
  }

  private get T(): string {
    return `inet ${this.table}`;
  }

  /** Run one transaction; its failure kind, or null. */
  private async tx(line: string): Promise<{ failure: NftFailure | null; stderr: string }> {
    const stderr = await this.session.run(line);
    return { failure: failureOf(stderr), stderr };
  }

  private refused(what: string, stderr: string): TumblerError {
    return new TumblerError('FIREWALL_NFT', `nft refused to ${what}: ${firstErrorLine(stderr)}`);
  }

  async install(): Promise<void> {
    const r = await this.tx(installCommands(this.plan, this.table).join('; '));
    if (r.failure) throw this.refused(`install table ${this.T}`, r.stderr);
  }

  async open(g: Grant): Promise<void> {
    const family = checkFamily(g.family);
    const address = checkAddress(family, g.address);
    const port = checkForwardPort(this.plan, g.port);
    const service = checkService(g.service);
    const ttl = checkTtl(g.ttlSec, this.plan.maxTtlSec);
    const { target } = targetOf(this.plan, service, family);
    const M = `${this.T} ${mapName(family)}`;
    const el = `{ ${element(address, port, ttl, service, target)} }`;
    const key = `{ ${elementKey(address, port)} }`;
    // add;delete;add in one transaction sets a fresh timeout whether or not the key exists (a plain
    // add keeps the old timeout on older kernels). If the key exists with ANOTHER target the first
    // add fails with EEXIST: then delete;add. If it lapsed in between, delete fails: start over.
    const refresh = `add element ${M} ${el}; delete element ${M} ${key}; add element ${M} ${el}`;
    const replace = `delete element ${M} ${key}; add element ${M} ${el}`;
    let line = refresh;
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await this.tx(line);
      if (!r.failure) return;
      if (line === refresh && r.failure === 'EEXIST') line = replace;
      else if (line === replace && r.failure === 'ENOENT') line = refresh;
      else if (r.failure === 'ENOENT') throw new TumblerError('FIREWALL_NOT_INSTALLED', `table ${this.T} or its map is missing: ${firstErrorLine(r.stderr)}`);
      else throw this.refused('add a grant', r.stderr);
    }
    throw new TumblerError('FIREWALL_NFT', 'grant changed under us three times in a row');
  }

  async close(family: Family, address: string, port: number): Promise<boolean> {
    const f = checkFamily(family);
    const a = checkAddress(f, address);
    const p = checkPort(port);
    const r = await this.tx(`delete element ${this.T} ${mapName(f)} { ${elementKey(a, p)} }`);
    if (!r.failure) return true;
    if (r.failure === 'ENOENT') return false;
    throw this.refused('delete a grant', r.stderr);
  }

  async list(): Promise<KernelGrant[]> {
    const out: KernelGrant[] = [];
    for (const family of [4, 6] as const) out.push(...(await this.listMap(family)));
    return out;
  }

  private async listMap(family: Family): Promise<KernelGrant[]> {
    const r = await runTool([...this.prefix, 'nft', '-j', 'list', 'map', 'inet', this.table, mapName(family)], { timeoutMs: this.timeoutMs });
    if (r.error) throw new TumblerError(r.error === 'timeout' ? 'FIREWALL_TIMEOUT' : 'FIREWALL_START', `nft list failed (${r.error})`);
    if (r.code !== 0) {
      if (/No such file or directory/.test(r.stderr)) return []; // not installed: the kernel holds no grants of ours
      throw this.refused('list grants', r.stderr);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      throw new TumblerError('FIREWALL_NFT', 'nft -j printed something that is not JSON');
    }
    return parseMapJson(doc, family, this.plan);
  }

  async reconcile(keep: ReadonlyArray<GrantKey>): Promise<number> {
    const wanted = new Set(keep.map((k) => grantKeyString(k.family, k.address, k.port)));
    const orphans: Record<Family, string[]> = { 4: [], 6: [] };
    for (const g of await this.list()) {
      if (!wanted.has(grantKeyString(g.family, g.address, g.port))) orphans[g.family].push(elementKey(checkAddress(g.family, g.address), checkPort(g.port)));
    }
    let removed = 0;
    for (const family of [4, 6] as const) {
      const M = `${this.T} ${mapName(family)}`;
      const keys = orphans[family];
      for (let i = 0; i < keys.length; i += DELETE_CHUNK) {
        const chunk = keys.slice(i, i + DELETE_CHUNK);
        const r = await this.tx(`delete element ${M} { ${chunk.join(', ')} }`);
        if (!r.failure) {
          removed += chunk.length;
          continue;
        }
        if (r.failure !== 'ENOENT') throw this.refused('delete grants', r.stderr);
        // One of them lapsed meanwhile and the whole transaction failed: one at a time.
        for (const k of chunk) {
          const one = await this.tx(`delete element ${M} { ${k} }`);
          if (!one.failure) removed++;
          else if (one.failure !== 'ENOENT') throw this.refused('delete a grant', one.stderr);
        }
      }
    }
    return removed;
  }

  async uninstall(): Promise<void> {
    const r = await this.tx(`delete table ${this.T}`);
    if (r.failure && r.failure !== 'ENOENT') throw this.refused(`delete table ${this.T}`, r.stderr);
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}

interface JsonElem {
  elem?: { val?: { concat?: unknown }; timeout?: unknown; expires?: unknown; comment?: unknown };
}

/** Grants from `nft -j list map` output; malformed entries are skipped. */
export function parseMapJson(doc: unknown, family: Family, plan: FirewallPlan): KernelGrant[] {
  const items = (doc as { nftables?: unknown[] } | null)?.nftables;
  if (!Array.isArray(items)) throw new TumblerError('FIREWALL_NFT', 'unexpected nft JSON');
  const out: KernelGrant[] = [];
  for (const it of items) {
    const elems = (it as { map?: { elem?: unknown[] } })?.map?.elem;
    if (!Array.isArray(elems)) continue;
    for (const pair of elems) {
      if (!Array.isArray(pair) || pair.length !== 2) continue;
      const e = (pair[0] as JsonElem | null)?.elem;
      const key = e?.val?.concat;
      const data = (pair[1] as { concat?: unknown } | null)?.concat;
      const [addr, port] = Array.isArray(key) ? key : [];
      const [thost, tport] = Array.isArray(data) ? data : [];
      const address = typeof addr === 'string' ? canonicalAddress(family, addr) : null;
      if (!address || !Number.isInteger(port)) continue;
      const expires = typeof e?.expires === 'number' ? e.expires : typeof e?.timeout === 'number' ? e.timeout : NO_EXPIRY;
      out.push({ family, address, port: port as number, service: serviceOf(plan, family, e?.comment, thost, tport), expiresInSec: expires });
    }
  }
  return out;
}

/** The comment when it names a configured service, else the service whose target matches, else null. */
function serviceOf(plan: FirewallPlan, family: Family, comment: unknown, host: unknown, port: unknown): string | null {
  if (typeof comment === 'string' && plan.services.some((s) => s.name === comment)) return comment;
  const h = typeof host === 'string' ? canonicalAddress(family, host) : null;
  const s = plan.services.find((x) => {
    const t = family === 4 ? x.target4 : x.target6;
    return t !== null && t.host === h && t.port === port;
  });
  return s?.name ?? null;
}

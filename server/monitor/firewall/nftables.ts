/**
 * The nftables backend (default): our own table (`inet tumbler`), never any other. Grants are
 * elements of the maps grants4/grants6 with per-element kernel timeouts, so the kernel closes
 * them even when no tumblerd process is alive. Updates go through one long-lived `nft -i` child
 * (line-session.ts), one line = one transaction; listings use `nft -j list` (JSON). See
 * nft-rules.ts for the ruleset. A new grant is `create element` (an error when the key exists,
 * then the grant is refreshed instead), so our own opens delete nothing: an element deletion seen
 * on `nft monitor` is someone's close (server/monitor/guard.ts).
 *
 * Errors: FIREWALL_BAD_VALUE, FIREWALL_NO_TARGET (values), FIREWALL_NFT (nft refused a command),
 * FIREWALL_NOT_INSTALLED (open before install), FIREWALL_FULL (a map holds MAX_GRANTS),
 * FIREWALL_CHANGED (another tool changed our table while install() wrote it), and the
 * child's: FIREWALL_START, FIREWALL_EXITED, FIREWALL_TIMEOUT, FIREWALL_PROTOCOL, FIREWALL_DISPOSED.
 */
import { TumblerError } from '../../../shared/errors.js';
import type { IpFamily } from '../../../shared/net/address.js';
import type { TumblerConfig } from '../../config/types.js';
import { DELETE_CHUNK, openChunked } from './batch.js';
import { compareLayouts, shapeProblems, type Layout } from './drift.js';
import { LineSession, NFT_MARKER } from './line-session.js';
import { parseNftLayout } from './nft-layout.js';
import { element, elementKey, installCommands, installShape, mapName } from './nft-rules.js';
import { checkForwardPort, makePlan, targetOf, type FirewallPlan } from './plan.js';
import { firstErrorLine, runTool, type RunResult } from './run.js';
import {
  DEFAULT_TABLE, NO_EXPIRY, type DriftItem, type FirewallBackend, type FirewallOptions, type Grant, type GrantKey, type KernelGrant, type OpenOutcome,
} from './types.js';
import { canonicalAddress, checkAddress, checkFamily, checkPort, checkService, checkTable, checkTtl, grantKeyString } from './values.js';

type NftFailure = 'ENOENT' | 'EEXIST' | 'FULL' | 'OTHER';

/** Classify what nft wrote on stderr for one command line; null = success. */
function failureOf(stderr: string): NftFailure | null {
  if (!/^Error:/m.test(stderr)) return null;
  if (/No such file or directory/.test(stderr)) return 'ENOENT';
  if (/File exists/.test(stderr)) return 'EEXIST';
  if (/Too many open files/.test(stderr)) return 'FULL'; // ENFILE: the map holds `size` elements
  return 'OTHER';
}


/** A grant checked and rendered: its map, its full element and its key. */
interface Rendered {
  readonly map: string;
  readonly element: string;
  readonly key: string;
}

export class NftablesBackend implements FirewallBackend {
  private readonly plan: FirewallPlan;
  private readonly table: string;
  private readonly prefix: readonly string[];
  private readonly timeoutMs: number;
  private readonly session: LineSession;
  /** Our table as the last install() left it: what inspect() compares with. */
  private baseline: Layout | null = null;

  constructor(cfg: TumblerConfig, opts: FirewallOptions = {}) {
    this.plan = makePlan(cfg);
    this.table = checkTable(opts.table ?? DEFAULT_TABLE);
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

  /** One nft run outside the session (listings), with its failures as errors. */
  private async nft(args: readonly string[]): Promise<RunResult> {
    const r = await runTool([...this.prefix, 'nft', ...args], { timeoutMs: this.timeoutMs });
    if (r.error) throw new TumblerError(r.error === 'timeout' ? 'FIREWALL_TIMEOUT' : 'FIREWALL_START', `nft ${args[0] ?? ''} failed (${r.error})`);
    return r;
  }

  async install(opts: { fresh?: boolean } = {}): Promise<void> {
    // fresh: replace the table whatever it holds now, in the same transaction (no open window).
    const cmds = installCommands(this.plan, this.table);
    const line = opts.fresh ? [`add table ${this.T}`, `delete table ${this.T}`, ...cmds].join('; ') : cmds.join('; ');
    const r = await this.tx(line);
    if (r.failure) throw this.refused(`install table ${this.T}`, r.stderr);
    // The baseline: what the kernel holds now, if it is all of what we wrote (no deletion raced us).
    const layout = await this.readLayout();
    const problems = layout ? shapeProblems(layout, installShape(cmds, this.table)) : ['table missing'];
    if (problems.length > 0) throw new TumblerError('FIREWALL_CHANGED', `table ${this.T} changed while it was installed (${problems.slice(0, 3).join(', ')})`);
    this.baseline = layout;
  }

  /** Our table's layout now, or null when the table does not exist. */
  private async readLayout(): Promise<Layout | null> {
    const r = await this.nft(['-j', '-t', 'list', 'table', 'inet', this.table]);
    if (r.code !== 0) {
      if (/No such file or directory/.test(r.stderr)) return null;
      throw this.refused('list our table', r.stderr);
    }
    return parseNftLayout(parseJson(r.stdout), this.table);
  }

  async inspect(): Promise<DriftItem[]> {
    if (!this.baseline) throw new TumblerError('FIREWALL_NOT_INSTALLED', 'inspect before install');
    const now = await this.readLayout();
    return now ? compareLayouts(this.baseline, now) : [{ kind: 'table', name: this.T }];
  }

  lostWith(drift: readonly DriftItem[], g: Grant): boolean {
    return drift.some((d) => d.kind === 'table' || (d.kind === 'map' && d.name === mapName(g.family)));
  }

  /** Check every value of a grant again and render it (FIREWALL_BAD_VALUE, FIREWALL_NO_TARGET). */
  private render(g: Grant): Rendered {
    const family = checkFamily(g.family);
    const address = checkAddress(family, g.address);
    const port = checkForwardPort(this.plan, g.port);
    const service = checkService(g.service);
    const ttl = checkTtl(g.ttlSec, this.plan.maxTtlSec);
    const { target } = targetOf(this.plan, service, family);
    return { map: `${this.T} ${mapName(family)}`, element: element(address, port, ttl, service, target), key: elementKey(address, port) };
  }

  private openFailure(failure: NftFailure, stderr: string): TumblerError {
    if (failure === 'ENOENT') return new TumblerError('FIREWALL_NOT_INSTALLED', `table ${this.T} or its map is missing: ${firstErrorLine(stderr)}`);
    if (failure === 'FULL') return new TumblerError('FIREWALL_FULL', 'the grant map is full');
    return this.refused('add a grant', stderr);
  }

  async open(g: Grant): Promise<void> {
    const { map: M, element: el, key } = this.render(g);
    // 1. A new key: create (EEXIST when the key is there, then it is refreshed below).
    const created = await this.tx(`create element ${M} { ${el} }`);
    if (!created.failure) return;
    if (created.failure !== 'EEXIST') throw this.openFailure(created.failure, created.stderr);
    // 2. add;delete;add in one transaction sets a fresh timeout whether or not the key exists (a
    //    plain add keeps the old timeout). If the key exists with ANOTHER target the first add
    //    fails with EEXIST: then delete;add. If it lapsed in between, delete fails: start over.
    const refresh = `add element ${M} { ${el} }; delete element ${M} { ${key} }; add element ${M} { ${el} }`;
    const replace = `delete element ${M} { ${key} }; add element ${M} { ${el} }`;
    let line = refresh;
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await this.tx(line);
      if (!r.failure) return;
      if (line === refresh && r.failure === 'EEXIST') line = replace;
      else if (line === replace && r.failure === 'ENOENT') line = refresh;
      else throw this.openFailure(r.failure, r.stderr);
    }
    throw new TumblerError('FIREWALL_NFT', 'grant changed under us three times in a row');
  }

  /** One `create element` transaction per chunk (per map); when it fails, one by one. */
  openMany(grants: readonly Grant[]): Promise<OpenOutcome[]> {
    return openChunked(grants, {
      render: (g) => this.render(g),
      writeAll: async (rendered) => {
        const byMap = new Map<string, string[]>();
        for (const r of rendered) {
          const els = byMap.get(r.map);
          if (els) els.push(r.element);
          else byMap.set(r.map, [r.element]);
        }
        const tx = await this.tx([...byMap].map(([M, els]) => `create element ${M} { ${els.join(', ')} }`).join('; '));
        return tx.failure === null;
      },
      openOne: (g) => this.open(g),
      code: 'FIREWALL_NFT',
    });
  }

  async close(family: IpFamily, address: string, port: number): Promise<boolean> {
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

  private async listMap(family: IpFamily): Promise<KernelGrant[]> {
    const r = await this.nft(['-j', 'list', 'map', 'inet', this.table, mapName(family)]);
    if (r.code !== 0) {
      if (/No such file or directory/.test(r.stderr)) return []; // not installed: the kernel holds no grants of ours
      throw this.refused('list grants', r.stderr);
    }
    return parseMapJson(parseJson(r.stdout), family, this.plan);
  }

  async reconcile(keep: ReadonlyArray<GrantKey>): Promise<number> {
    const wanted = new Set(keep.map((k) => grantKeyString(k.family, k.address, k.port)));
    const orphans: Record<IpFamily, string[]> = { 4: [], 6: [] };
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
    this.baseline = null;
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TumblerError('FIREWALL_NFT', 'nft -j printed something that is not JSON');
  }
}


interface JsonElem {
  elem?: { val?: { concat?: unknown }; timeout?: unknown; expires?: unknown; comment?: unknown };
}

/** Grants from `nft -j list map` output; malformed entries are skipped. */
export function parseMapJson(doc: unknown, family: IpFamily, plan: FirewallPlan): KernelGrant[] {
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
function serviceOf(plan: FirewallPlan, family: IpFamily, comment: unknown, host: unknown, port: unknown): string | null {
  if (typeof comment === 'string' && plan.services.some((s) => s.name === comment)) return comment;
  const h = typeof host === 'string' ? canonicalAddress(family, host) : null;
  const s = plan.services.find((x) => {
    const t = family === 4 ? x.target4 : x.target6;
    return t !== null && t.host === h && t.port === port;
  });
  return s?.name ?? null;
}

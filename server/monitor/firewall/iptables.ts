/**
 * The iptables backend, for hosts without nftables (`firewall = "iptables"`): ipsets with
 * per-member kernel timeouts hold the grants (so they lapse with no tumblerd alive), our own
 * chains in the nat and filter tables DNAT and drop (ipt-rules.ts). Works with the legacy and the
 * nf_tables flavours of iptables; both need the xt_set match (ip_set kernel modules).
 *
 * Grant updates go through one long-lived interactive `ipset -` child (line-session.ts): no
 * process per grant. ipset's interactive mode keeps options across commands (an `-exist` sticks),
 * so every update line says `-exist` itself and nothing relies on an error for a missing member:
 * presence is asked with `test`. Install, uninstall and listings run the tools once each
 * (`ipset restore`, `iptables-restore --noflush`, `ipset save`).
 * Drift (inspect): our chains, their rules and jumps as `iptables-save` prints them right after
 * install, and our sets in `ipset list -n` (ipt-layout.ts).
 *
 * Errors: FIREWALL_BAD_VALUE, FIREWALL_NO_TARGET, FIREWALL_IPTABLES (a tool refused),
 * FIREWALL_NOT_INSTALLED (open before install), FIREWALL_FULL (a set holds MAX_GRANTS),
 * FIREWALL_CHANGED (another tool changed our chains while install() wrote them), FIREWALL_START,
 * FIREWALL_TIMEOUT, and the child's (line-session.ts).
 */
import { TumblerError } from '../../../shared/errors.js';
import type { IpFamily } from '../../../shared/net/address.js';
import type { TumblerConfig } from '../../config/types.js';
import { DELETE_CHUNK, openChunked } from './batch.js';
import { compareLayouts, LayoutBuilder, shapeProblems, type Layout } from './drift.js';
import { addIpsetLayout, addIptLayout, iptShape, iptTool } from './ipt-layout.js';
import { ipsetCreateScript, iptNames, member, parseSetName, restoreScript, servicesOf, setName, type IptNames } from './ipt-rules.js';
import { IPSET_MARKER, LineSession } from './line-session.js';
import { checkForwardPort, makePlan, targetOf, type FirewallPlan } from './plan.js';
import { firstErrorLine, runTool, type RunResult } from './run.js';
import {
  DEFAULT_TABLE, NO_EXPIRY, type DriftItem, type FirewallBackend, type FirewallOptions, type Grant, type GrantKey, type KernelGrant, type OpenOutcome,
} from './types.js';
import { canonicalAddress, checkAddress, checkFamily, checkPort, checkService, checkTable, checkTtl, grantKeyString } from './values.js';

const MAX_JUMP_REMOVALS = 16;

export class IptablesBackend implements FirewallBackend {
  private readonly plan: FirewallPlan;
  private readonly names: IptNames;
  /** Names of the sets the config calls for (fixed by the config: computed once). */
  private readonly configuredSets: ReadonlySet<string>;
  private readonly prefix: readonly string[];
  private readonly timeoutMs: number;
  private readonly ipset: LineSession;
  /** Families whose chains the last install() wrote (IPv6 is skipped on a host without it when nothing needs it). */
  private families: IpFamily[] = [];
  /** Our chains, jumps and sets as the last install() left them: what inspect() compares with. */
  private baseline: Layout | null = null;

  constructor(cfg: TumblerConfig, opts: FirewallOptions = {}) {
    this.plan = makePlan(cfg);
    this.names = iptNames(checkTable(opts.table ?? DEFAULT_TABLE));
    this.configuredSets = new Set([4, 6].flatMap((family) => servicesOf(this.plan, family as 4 | 6).map((s) => setName(this.names, s.id, family as 4 | 6))));
    this.prefix = opts.commandPrefix ?? [];
    this.timeoutMs = opts.commandTimeoutMs ?? 10_000;
    this.ipset = new LineSession([...this.prefix, 'ipset', '-'], IPSET_MARKER, this.timeoutMs);
  }

  private async run(argv: readonly string[], input?: string): Promise<RunResult> {
    const r = await runTool([...this.prefix, ...argv], { input, timeoutMs: this.timeoutMs });
    if (r.error === 'timeout') throw new TumblerError('FIREWALL_TIMEOUT', `${argv[0]} did not finish within ${this.timeoutMs} ms`);
    if (r.error) throw new TumblerError('FIREWALL_START', `cannot run ${argv[0]} (${r.error})`);
    return r;
  }

  private async must(argv: readonly string[], input?: string): Promise<RunResult> {
    const r = await this.run(argv, input);
    if (r.code !== 0) throw new TumblerError('FIREWALL_IPTABLES', `${argv.slice(0, 2).join(' ')} failed: ${firstErrorLine(r.stderr)}`);
    return r;
  }

  private needsV6(): boolean {
    return this.plan.addresses6.length > 0 || this.plan.targets6.length > 0;
  }

  async install(opts: { fresh?: boolean } = {}): Promise<void> {
    // fresh: chains and sets go first (iptables has no transaction across tables and ipsets).
    if (opts.fresh) await this.uninstall();
    const sets = ipsetCreateScript(this.plan, this.names);
    if (sets) await this.must(['ipset', 'restore', '-exist'], sets);
    const scripts = new Map<IpFamily, string>();
    for (const family of [4, 6] as const) {
      const tool = iptTool(family);
      const script = restoreScript(this.plan, this.names, family);
      try {
        await this.must([`${tool}-restore`, '--noflush'], script);
        await this.ensureJump(tool, 'nat', 'PREROUTING', this.names.pre);
        await this.ensureJump(tool, 'filter', 'INPUT', this.names.input);
        await this.ensureJump(tool, 'filter', 'FORWARD', this.names.forward);
        scripts.set(family, script);
      } catch (e) {
        if (family === 6 && !this.needsV6()) continue; // a host without IPv6 netfilter, and nothing of ours needs it
        throw e;
      }
    }
    this.families = [...scripts.keys()];
    // The baseline: what the kernel holds now, if it is all of what we wrote (no deletion raced us).
    const layout = await this.readLayout();
    const problems = shapeProblems(layout, iptShape(this.names, scripts, this.configuredSets));
    if (problems.length > 0) throw new TumblerError('FIREWALL_CHANGED', `our chains or sets changed while they were installed (${problems.slice(0, 3).join(', ')})`);
    this.baseline = layout;
  }

  private async readLayout(): Promise<Layout> {
    const b = new LayoutBuilder();
    for (const family of this.families) addIptLayout(b, (await this.must([`${iptTool(family)}-save`])).stdout, family, this.names);
    addIpsetLayout(b, (await this.must(['ipset', 'list', '-n'])).stdout, this.configuredSets);
    return b.build();
  }

  async inspect(): Promise<DriftItem[]> {
    if (!this.baseline) throw new TumblerError('FIREWALL_NOT_INSTALLED', 'inspect before install');
    return compareLayouts(this.baseline, await this.readLayout());
  }

  lostWith(drift: readonly DriftItem[], g: Grant): boolean {
    const svc = this.plan.services.find((s) => s.name === g.service);
    return svc !== undefined && drift.some((d) => d.kind === 'ipset' && d.name === setName(this.names, svc.id, g.family));
  }

  private async ensureJump(tool: string, table: string, from: string, to: string): Promise<void> {
    const r = await this.run([tool, '-w', '-t', table, '-C', from, '-j', to]);
    if (r.code === 0) return;
    await this.must([tool, '-w', '-t', table, '-I', from, '1', '-j', to]);
  }

  /** The ipset lines of one grant, every value checked again (FIREWALL_BAD_VALUE, FIREWALL_NO_TARGET). */
  private grantLines(g: Grant): string[] {
    const family = checkFamily(g.family);
    const address = checkAddress(family, g.address);
    const port = checkForwardPort(this.plan, g.port);
    const service = checkService(g.service);
    const ttl = checkTtl(g.ttlSec, this.plan.maxTtlSec);
    const { svc } = targetOf(this.plan, service, family);
    const m = member(address, port);
    // `add -exist` of a present member resets its timeout; `del -exist` of an absent one is no error.
    // The key leaves any other service's set first, so a refresh can also change the target.
    const lines = servicesOf(this.plan, family)
      .filter((s) => s.id !== svc.id)
      .map((s) => `del -exist ${setName(this.names, s.id, family)} ${m}`);
    lines.push(`add -exist ${setName(this.names, svc.id, family)} ${m} timeout ${ttl}`);
    return lines;
  }

  async open(g: Grant): Promise<void> {
    const err = (await this.ipset.run(this.grantLines(g))).trim();
    if (err === '') return;
    if (/does not exist/.test(err)) throw new TumblerError('FIREWALL_NOT_INSTALLED', `ipset of service ${g.service} is missing: run install first`);
    if (/is full/.test(err)) throw new TumblerError('FIREWALL_FULL', 'the grant set is full');
    throw new TumblerError('FIREWALL_IPTABLES', `ipset refused the grant: ${firstErrorLine(err)}`);
  }

  /** One write of every line of a chunk; when ipset complains about any, one grant at a time. */
  openMany(grants: readonly Grant[]): Promise<OpenOutcome[]> {
    return openChunked(grants, {
      render: (g) => this.grantLines(g),
      writeAll: async (rendered) => (await this.ipset.run(rendered.flat())).trim() === '',
      openOne: (g) => this.open(g),
      code: 'FIREWALL_IPTABLES',
    });
  }

  async close(family: IpFamily, address: string, port: number): Promise<boolean> {
    const f = checkFamily(family);
    const m = member(checkAddress(f, address), checkPort(port));
    const sets = servicesOf(this.plan, f).map((s) => setName(this.names, s.id, f));
    if (sets.length === 0) return false;
    // "Warning: M is in set S." / "M is NOT in set S." / "...set with the given name does not exist".
    const answers = await this.ipset.run(sets.map((set) => `test ${set} ${m}`));
    const found = sets.find((set) => answers.includes(` is in set ${set}.`));
    if (!found) return false;
    const err = (await this.ipset.run(`del -exist ${found} ${m}`)).trim();
    if (err !== '') throw new TumblerError('FIREWALL_IPTABLES', `ipset del failed: ${firstErrorLine(err)}`);
    return true;
  }

  /** Names of our sets that exist in the kernel (also those of services no longer configured). */
  private async ourSets(): Promise<string[]> {
    const r = await this.must(['ipset', 'list', '-n']);
    return r.stdout.split('\n').map((l) => l.trim()).filter((n) => parseSetName(this.names, n) !== null);
  }

  async list(): Promise<KernelGrant[]> {
    const r = await this.must(['ipset', 'save']);
    return parseIpsetSave(r.stdout, this.names, this.plan);
  }

  async reconcile(keep: ReadonlyArray<GrantKey>): Promise<number> {
    const wanted = new Set(keep.map((k) => grantKeyString(k.family, k.address, k.port)));
    const r = await this.must(['ipset', 'save']);
    const lines: string[] = [];
    for (const e of parseIpsetEntries(r.stdout, this.names)) {
      if (!wanted.has(grantKeyString(e.family, e.address, e.port))) lines.push(`del -exist ${e.set} ${member(e.address, e.port)}`);
    }
    // -exist: a member that lapsed since the listing is not an error (it is counted as removed).
    for (let i = 0; i < lines.length; i += DELETE_CHUNK) {
      const err = (await this.ipset.run(lines.slice(i, i + DELETE_CHUNK))).trim();
      if (err !== '') throw new TumblerError('FIREWALL_IPTABLES', `ipset del failed: ${firstErrorLine(err)}`);
    }
    return lines.length;
  }

  async uninstall(): Promise<void> {
    for (const tool of ['iptables', 'ip6tables']) {
      try {
        for (const [table, from, chain] of [['nat', 'PREROUTING', this.names.pre], ['filter', 'INPUT', this.names.input], ['filter', 'FORWARD', this.names.forward]] as const) {
          for (let i = 0; i < MAX_JUMP_REMOVALS; i++) {
            if ((await this.run([tool, '-w', '-t', table, '-D', from, '-j', chain])).code !== 0) break;
          }
          await this.run([tool, '-w', '-t', table, '-F', chain]);
          await this.run([tool, '-w', '-t', table, '-X', chain]);
        }
      } catch (e) {
        if (tool === 'iptables' || this.needsV6()) throw e;
      }
    }
    for (const set of await this.ourSets()) await this.must(['ipset', 'destroy', set]);
    this.baseline = null;
  }

  dispose(): Promise<void> {
    return this.ipset.dispose();
  }
}

interface IpsetEntry {
  readonly set: string;
  readonly id: number;
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
  readonly expiresInSec: number;
}

/** Members of our sets from `ipset save` output: "add tumbler-1-4 198.51.100.7,tcp:50123 timeout 29". */
export function parseIpsetEntries(text: string, names: IptNames): IpsetEntry[] {
  const out: IpsetEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^add (\S+) (\S+),tcp:(\d+)(?: .*?\btimeout (\d+))?/.exec(line.trim());
    if (!m) continue;
    const p = parseSetName(names, m[1]!);
    if (!p) continue;
    const address = canonicalAddress(p.family, m[2]!);
    if (!address) continue;
    out.push({ set: m[1]!, id: p.id, family: p.family, address, port: Number(m[3]), expiresInSec: m[4] === undefined || m[4] === '0' ? NO_EXPIRY : Number(m[4]) });
  }
  return out;
}

export function parseIpsetSave(text: string, names: IptNames, plan: FirewallPlan): KernelGrant[] {
  return parseIpsetEntries(text, names).map((e) => ({
    family: e.family,
    address: e.address,
    port: e.port,
    service: plan.services.find((s) => s.id === e.id)?.name ?? null,
    expiresInSec: e.expiresInSec,
  }));
}

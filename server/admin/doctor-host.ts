/**
 * `tumblerd doctor`: host checks. Each returns one or more findings and never throws: a tool that
 * is missing or fails is itself a finding. Commands run without a shell, with a time limit.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { TumblerConfig } from '../config/types.js';
import type { AccountInfo } from '../account.js';
import type { Check } from './doctor-types.js';
import { iptablesDropRisk, nftDropRisks, type DropRisk, type Hook } from './ruleset.js';

const TOOL_TIMEOUT_MS = 5_000;

export interface ToolResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly missing: boolean; // the program is not installed
}

export function runTool(cmd: string, args: readonly string[]): ToolResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { ok: !r.error && r.status === 0, stdout: r.stdout ?? '', missing };
}

export function rootCheck(): Check {
  const uid = process.getuid?.();
  return uid === 0
    ? { name: 'root', status: 'ok', detail: 'running as root' }
    : { name: 'root', status: 'warn', detail: `running as uid ${uid}: some checks are incomplete`, hint: 'tumblerd run and the admin commands need root' };
}

export function nftCheck(required: boolean): Check {
  const r = runTool('nft', ['--version']);
  if (r.ok) return { name: 'nft', status: 'ok', detail: r.stdout.trim() };
  return { name: 'nft', status: required ? 'fail' : 'warn', detail: r.missing ? 'nft not found' : 'nft --version failed', hint: 'apt install nftables' };
}

export function iptablesChecks(): Check[] {
  const out: Check[] = [];
  for (const [tool, pkg] of [['iptables', 'iptables'], ['ipset', 'ipset']] as const) {
    const r = runTool(tool, ['--version']);
    out.push(r.ok
      ? { name: tool, status: 'ok', detail: r.stdout.trim().split('\n')[0] ?? '' }
      : { name: tool, status: 'fail', detail: r.missing ? `${tool} not found` : `${tool} --version failed`, hint: `apt install ${pkg}` });
  }
  return out;
}

/** Our iptables chain present and jumped to from INPUT? */
export function iptablesChainCheck(input: string): Check {
  const chain = runTool('iptables', ['-w', '-S', input]);
  const jump = runTool('iptables', ['-w', '-C', 'INPUT', '-j', input]);
  if (chain.ok && jump.ok) return { name: 'firewall-table', status: 'ok', detail: `iptables backend; chain ${input} is installed and jumped to from INPUT` };
  return { name: 'firewall-table', status: 'warn', detail: `iptables backend; chain ${input} is ${chain.ok ? 'not jumped to from INPUT' : 'not installed'}`, hint: 'tumblerd run installs it at start' };
}

/** Our table present? (`tumblerd run` installs it; absent means the daemon is not running.) */
export function nftTableCheck(family: string, table: string): Check {
  const r = runTool('nft', ['list', 'table', family, table]);
  return r.ok
    ? { name: 'firewall-table', status: 'ok', detail: `nftables backend; table ${family} ${table} is installed` }
    : { name: 'firewall-table', status: 'warn', detail: `nftables backend; table ${family} ${table} is not installed`, hint: 'tumblerd run installs it at start' };
}

export function libpcapCheck(): Check {
  try {
    const require = createRequire(import.meta.url);
    const pcap = require('pcap') as { lib_version?: string };
    return { name: 'libpcap', status: 'ok', detail: String(pcap.lib_version ?? 'loaded') };
  } catch (e) {
    return { name: 'libpcap', status: 'fail', detail: `the pcap module does not load: ${(e as Error).message.split('\n')[0]}`, hint: 'apt install libpcap0.8; rebuild with npm ci' };
  }
}

export function interfaceChecks(interfaces: readonly string[]): Check[] {
  return interfaces.map((i) =>
    existsSync(`/sys/class/net/${i}`)
      ? { name: `interface:${i}`, status: 'ok', detail: `${i} exists` }
      : { name: `interface:${i}`, status: 'fail', detail: `${i} does not exist on this host`, hint: 'fix [server] interfaces' },
  );
}

export function workerUserCheck(user: string, account: AccountInfo | null): Check {
  if (!account) return { name: 'worker-user', status: 'fail', detail: `user ${user} does not exist`, hint: `useradd --system --no-create-home ${user}` };
  if (account.uid === 0) return { name: 'worker-user', status: 'fail', detail: `user ${user} has uid 0`, hint: 'the worker must be an unprivileged account' };
  return { name: 'worker-user', status: 'ok', detail: `${user} uid ${account.uid} gid ${account.gid}` };
}

export function clockCheck(): Check {
  const r = runTool('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']);
  const v = r.stdout.trim();
  const now = new Date().toISOString();
  if (r.ok && v === 'yes') return { name: 'clock', status: 'ok', detail: `synchronized (${now})` };
  if (r.ok && v === 'no') return { name: 'clock', status: 'warn', detail: `not synchronized (${now}): knocks outside the timestamp window fail`, hint: 'enable NTP (timedatectl set-ntp true)' };
  return { name: 'clock', status: 'warn', detail: `synchronization unknown (${now})`, hint: 'make sure an NTP client keeps the clock right' };
}

/** Hooks that DNAT'd grant traffic crosses: input for targets on this host, forward for others. */
export function hooksOf(cfg: TumblerConfig): Set<Hook> {
  const hooks = new Set<Hook>();
  for (const s of cfg.services) {
    for (const t of [s.target4, s.target6]) if (t) hooks.add(cfg.addresses.includes(t.host) ? 'input' : 'forward');
  }
  return hooks;
}

function riskChecks(risks: DropRisk[], clean: string): Check[] {
  if (risks.length === 0) return [{ name: 'coexistence', status: 'ok', detail: clean }];
  return risks.map((r) => ({
    name: 'coexistence',
    status: 'warn',
    detail: `table ${r.table} chain ${r.chain} (hook ${r.hook}) may drop granted connections: ${r.why}`,
    hint: `accept DNAT'd traffic first in that chain: ${r.fix}`,
  }));
}

export function nftCoexistenceChecks(own: { family: string; table: string }, hooks: ReadonlySet<Hook>): Check[] {
  const r = runTool('nft', ['-j', 'list', 'ruleset']);
  if (!r.ok) return [{ name: 'coexistence', status: 'warn', detail: 'could not read the nftables ruleset (nft -j list ruleset)' }];
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    return [{ name: 'coexistence', status: 'warn', detail: 'nft -j list ruleset printed no JSON' }];
  }
  return riskChecks(nftDropRisks(json, own, hooks), 'no other table drops DNAT\'d traffic at the input/forward hooks');
}

export function iptablesCoexistenceChecks(hooks: ReadonlySet<Hook>, ipv6: boolean, own: { input: string; forward: string }): Check[] {
  const risks: DropRisk[] = [];
  for (const tool of ipv6 ? ['iptables', 'ip6tables'] : ['iptables']) {
    for (const chain of ['INPUT', 'FORWARD'] as const) {
      if (!hooks.has(chain === 'INPUT' ? 'input' : 'forward')) continue;
      const r = runTool(tool, ['-S', chain]);
      if (!r.ok) return [{ name: 'coexistence', status: 'warn', detail: `could not read ${tool} -S ${chain}` }];
      const risk = iptablesDropRisk(r.stdout, chain, tool, chain === 'INPUT' ? own.input : own.forward);
      if (risk) risks.push(risk);
    }
  }
  return riskChecks(risks, 'INPUT/FORWARD accept DNAT\'d traffic (or do not drop)');
}

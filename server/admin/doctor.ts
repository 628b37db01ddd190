/**
 * `tumblerd doctor [--json]`: checks the host for everything tumblerd needs and reports each item
 * as ok / warn / fail with a hint. Exit 0 when nothing fails, 1 otherwise. Read-only: it changes
 * nothing and does not open the store.
 */
import type { Command } from 'commander';
import { isTumblerError } from '../../shared/errors.js';
import type { TumblerConfig } from '../config/types.js';
import { findAccount } from '../account.js';
import { databaseChecks, passwordFileChecks } from './doctor-files.js';
import {
  clockCheck, hooksOf, interfaceChecks, iptablesChainCheck, iptablesChecks, iptablesCoexistenceChecks, libpcapCheck, nftCheck,
  nftCoexistenceChecks, nftTableCheck, rootCheck, workerUserCheck,
} from './doctor-host.js';
import type { Check } from './doctor-types.js';
import { action, usageErrors } from './exit.js';
import { printJson } from './output.js';
import { OWN_IPT_CHAINS, OWN_NFT_TABLE } from './firewall-info.js';

export async function runDoctor(configPath: string): Promise<Check[]> {
  const checks: Check[] = [rootCheck()];

  // 1. The config: everything else depends on it.
  let cfg: TumblerConfig;
  try {
    const { loadConfig } = await import('../config/parse.js');
    cfg = loadConfig(configPath);
    checks.push({ name: 'config', status: 'ok', detail: `${cfg.file} loads` });
  } catch (e) {
    const code = isTumblerError(e) ? e.code : 'UNKNOWN';
    checks.push({ name: 'config', status: 'fail', detail: `${(e as Error).message} (${code})` });
    checks.push(nftCheck(false), libpcapCheck(), clockCheck());
    return checks;
  }

  // 2. Firewall tools, our table, and other tables that could drop granted traffic.
  const hooks = hooksOf(cfg);
  if (cfg.firewall === 'nftables') {
    const nft = nftCheck(true);
    checks.push(nft);
    if (nft.status === 'ok') checks.push(nftTableCheck(OWN_NFT_TABLE.family, OWN_NFT_TABLE.table), ...nftCoexistenceChecks(OWN_NFT_TABLE, hooks));
  } else {
    const tools = iptablesChecks();
    checks.push(...tools);
    if (tools[0]!.status === 'ok') {
      checks.push(iptablesChainCheck(OWN_IPT_CHAINS.input), ...iptablesCoexistenceChecks(hooks, cfg.addresses.some((a) => a.includes(':')), OWN_IPT_CHAINS));
    }
  }

  // 3. Capture: libpcap and the interfaces.
  checks.push(libpcapCheck(), ...interfaceChecks(cfg.interfaces));

  // 4. The worker's account and its database.
  const account = findAccount(cfg.user);
  checks.push(workerUserCheck(cfg.user, account));
  if (cfg.store.backend === 'sqlite') checks.push(...databaseChecks(cfg.store.path, account));
  else checks.push(...await passwordFileChecks(cfg.store.passwordFile, account));

  // 4b. The metrics exporter's account, when metrics are on.
  if (cfg.metrics) checks.push(metricsUserCheck(cfg.metrics.user, cfg.user));

  // 5. The clock (knock timestamps).
  checks.push(clockCheck());
  return checks;
}

/** The exporter runs as [metrics] user: it must exist, unprivileged, and better not be the worker's account. */
export function metricsUserCheck(user: string, workerUser: string): Check {
  const a = findAccount(user);
  if (!a) return { name: 'metrics-user', status: 'fail', detail: `user ${user} does not exist`, hint: `useradd --system --no-create-home ${user}, or set [metrics] user` };
  if (a.uid === 0 || a.gid === 0) return { name: 'metrics-user', status: 'fail', detail: `user ${user} is root or in group 0`, hint: 'the exporter must run unprivileged' };
  if (user === workerUser) {
    return { name: 'metrics-user', status: 'warn', detail: `${user} is also the worker's account`, hint: 'an exploited exporter could then read the database (device keys): use an account that owns nothing' };
  }
  return { name: 'metrics-user', status: 'ok', detail: `${user} uid ${a.uid} gid ${a.gid}` };
}

const MARK: Record<Check['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

export function registerDoctor(program: Command, configPath: () => string): void {
  usageErrors(program.command('doctor'))
    .description('check the host: root, config, nft/iptables, our table, other tables that drop DNAT\'d traffic, libpcap, interfaces, worker user, database permissions, metrics user, clock')
    .option('--json', 'print the findings as JSON')
    .addHelpText('after', '\nEach check reports ok, warn or fail with a hint. Exit status 0 when nothing fails, 1 otherwise.')
    .action(action(async (opts: { json?: boolean }) => {
      const checks = await runDoctor(configPath());
      const ok = !checks.some((c) => c.status === 'fail');
      if (opts.json) {
        printJson({ ok, checks });
      } else {
        for (const c of checks) {
          process.stdout.write(`${MARK[c.status]}  ${c.name}: ${c.detail}\n`);
          if (c.hint && c.status !== 'ok') process.stdout.write(`      → ${c.hint}\n`);
        }
        process.stdout.write(ok ? 'doctor: no failures\n' : 'doctor: some checks failed\n');
      }
      process.exitCode = ok ? 0 : 1;
    }));
}

/**
 * `tumblerd grants list|close|open`. `grants open` is the break-glass console command for lockout
 * safety: it opens a service for one address directly through the firewall backend, on a random
 * free forward port, records it as a grant with no device and audits it.
 */
import type { Command } from 'commander';
import { randomInt } from 'node:crypto';
import { TumblerError, isTumblerError } from '../../shared/errors.js';
import { classifyIp, parseIp } from '../config/address.js';
import type { TumblerConfig } from '../config/types.js';
import type { IpFamily } from '../../shared/net/address.js';
import type { Grant } from '../store/types.js';
import { escapeControl } from '../escape.js';
import { operator, withStore } from './context.js';
import { action, usageErrors } from './exit.js';
import { isoTime, printJson, printTable } from './output.js';

const PORT_DRAWS = 64;

function grantJson(g: Grant): Record<string, unknown> {
  return {
    id: g.id, gateway: g.gateway, user: g.userName, device: g.deviceName, family: g.family, address: g.address, port: g.port, service: g.service,
    openedAt: isoTime(g.openedAt), expiresAt: isoTime(g.expiresAt), closedAt: isoTime(g.closedAt), closeReason: g.closeReason,
  };
}

function grantState(g: Grant, now: number): string {
  if (g.closedAt !== null) return `closed${g.closeReason ? ` (${g.closeReason})` : ''}`;
  if (g.closeRequestedAt !== null && g.expiresAt > now) return 'closing';
  return g.expiresAt > now ? 'open' : 'expired';
}

/** Validated break-glass request: unicast address of a family the service has a target for; TTL ≤ max. */
export function checkOpenRequest(cfg: TumblerConfig, address: string, service: string, ttl?: string): { family: IpFamily; address: string; ttlSec: number } {
  const a = parseIp(address);
  if (!a || classifyIp(a) !== 'unicast') throw new TumblerError('ADMIN_BAD_ADDRESS', `"${address}" is not a unicast IPv4 or IPv6 address`);
  const svc = cfg.services.find((s) => s.name === service);
  if (!svc) throw new TumblerError('ADMIN_UNKNOWN_SERVICE', `service "${service}" is not configured (configured: ${cfg.services.map((s) => s.name).join(', ')})`);
  if (!(a.family === 4 ? svc.target4 : svc.target6)) throw new TumblerError('ADMIN_BAD_ADDRESS', `service ${service} has no IPv${a.family} target`);
  const ttlSec = ttl === undefined ? cfg.defaultTtlSec : /^\d{1,9}$/.test(ttl) ? Number(ttl) : NaN;
  if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > cfg.maxTtlSec) {
    throw new TumblerError('ADMIN_BAD_TTL', `--ttl must be 1..${cfg.maxTtlSec} seconds (grant.max_ttl)`);
  }
  return { family: a.family, address: a.text, ttlSec };
}

/** A random forward port that no live grant and no kernel element uses. */
export function pickFreePort(cfg: TumblerConfig, used: ReadonlySet<number>, draw: (min: number, maxExclusive: number) => number = randomInt): number {
  const { first, last } = cfg.forwardPorts;
  for (let i = 0; i < PORT_DRAWS; i++) {
    const p = draw(first, last + 1);
    if (!used.has(p)) return p;
  }
  throw new TumblerError('ADMIN_NO_FREE_PORT', `no free forward port found in ${first}-${last}`);
}

export function registerGrantCommands(program: Command, configPath: () => string): void {
  const grants = usageErrors(program.command('grants')).description('list, close and (break-glass) open firewall grants');

  grants.command('list')
    .description('list the grants of every gateway: open ones (default) or all recorded')
    .option('--all', 'include closed and expired grants')
    .option('--json', 'print JSON')
    .action(action(async (opts: { all?: boolean; json?: boolean }) => {
      await withStore(configPath(), async ({ data, now }) => {
        const t = now();
        const list = await data.store.listGrants({ activeOnly: !opts.all, now: t });
        if (opts.json) {
          printJson(list.map((g) => ({ ...grantJson(g), state: grantState(g, t) })));
        } else {
          printTable(['ID', 'GATEWAY', 'USER', 'DEVICE', 'ADDRESS', 'PORT', 'SERVICE', 'OPENED', 'EXPIRES', 'STATE'],
            list.map((g) => [g.id, g.gateway, g.userName ?? (g.deviceId === null && g.deviceName === null ? '(admin)' : null), g.deviceName, g.address, g.port, g.service, isoTime(g.openedAt), isoTime(g.expiresAt), grantState(g, t)]),
            opts.all ? 'no grants recorded' : 'no open grants');
        }
      });
    }));

  grants.command('close')
    .description('close a grant now: its gateway removes it from its firewall and it is marked closed (established sessions stay)')
    .argument('<id>', 'grant id (see grants list)')
    .action(action(async (idText: string) => {
      if (!/^\d{1,15}$/.test(idText)) throw new TumblerError('USAGE', 'grant id must be a positive integer');
      const id = Number(idText);
      const { closeGrantsInKernel } = await import('./grant-close.js');
      await withStore(configPath(), async (ctx) => {
        const t = ctx.now();
        const g = (await ctx.data.store.grantsById([id]))[0];
        if (!g) throw new TumblerError('STORE_NOT_FOUND', `no grant ${id}`);
        if (g.closedAt !== null || g.expiresAt <= t) {
          process.stderr.write(`grant ${id} is already ${escapeControl(grantState(g, t))}\n`);
          return;
        }
        await closeGrantsInKernel(ctx, [g], 'closed by admin');
      });
    }));

  grants.command('open')
    .description('break-glass: open SERVICE for ADDRESS now, without a knock, on a random forward port (run on the console when locked out)')
    .argument('<address>', 'client address to allow (IPv4 or IPv6)')
    .argument('<service>', 'configured service name')
    .option('--ttl <seconds>', 'how long the grant stays open (default grant.default_ttl; at most grant.max_ttl)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nThe grant is recorded with no device and audited as admin.grant.open. Connect to the printed port.')
    .action(action(async (addressText: string, service: string, opts: { ttl?: string; json?: boolean }) => {
      const { withFirewall } = await import('./grant-close.js');
      await withStore(configPath(), async ({ cfg, data, now }) => {
        const req = checkOpenRequest(cfg, addressText, service, opts.ttl);
        await withFirewall(cfg, async (fw) => {
          const used = new Set<number>((await data.store.liveGrants(now())).map((g) => g.port));
          for (const e of await fw.list()) used.add(e.port);
          const port = pickFreePort(cfg, used);
          const grant = { family: req.family, address: req.address, port, service, ttlSec: req.ttlSec };
          try {
            await fw.open(grant);
          } catch (e) {
            // The daemon never ran (or was uninstalled): install our table, then open. install()
            // is idempotent and never drops grants.
            if (!isTumblerError(e, 'FIREWALL_NOT_INSTALLED')) throw e;
            await fw.install();
            process.stderr.write('installed the tumbler firewall table (it was missing)\n');
            await fw.open(grant);
          }
          const id = await data.store.addGrant({ family: req.family, address: req.address, port, service, ttlSec: req.ttlSec, userName: null });
          await data.store.recordAudit({ event: 'admin.grant.open', address: req.address, service, port, result: 'granted', reason: `break-glass by ${operator()}` });
          const expiresAt = now() + req.ttlSec * 1000;
          if (opts.json) {
            printJson({ id, family: req.family, address: req.address, service, port, ttlSec: req.ttlSec, expiresAt: isoTime(expiresAt) });
          } else {
            process.stdout.write(`grant ${id}: ${service} open for ${req.address} on port ${port} for ${req.ttlSec} s (until ${isoTime(expiresAt)})\n`);
          }
        });
      });
    }));
}

/**
 * Closing live grants now. A grant held by this host's gateway (or older than the fleet) leaves
 * the kernel through the configured firewall backend, as root, then is marked closed and audited;
 * a grant held by another gateway is marked "close requested" in the store, and that gateway's
 * worker closes its own kernel element through its own monitor (nobody reaches into another
 * host's firewall); we wait a bounded time and report. A grant whose close fails or is not
 * confirmed stays open in the database (it still runs out at its expiry) and the command fails
 * with ADMIN_FIREWALL.
 */
import { TumblerError, isTumblerError } from '../../shared/errors.js';
import type { TumblerConfig } from '../config/types.js';
import { escapeControl } from '../escape.js';
import type { FirewallBackend } from '../monitor/firewall/backend.js';
import type { Grant } from '../store/types.js';
import { operator, type AdminContext } from './context.js';

/** How long to wait for other gateways to confirm a requested close (they hear it within ~1 s). */
const REMOTE_CLOSE_WAIT_MS = 5_000;
const REMOTE_CLOSE_POLL_MS = 100;

export async function withFirewall<T>(cfg: TumblerConfig, fn: (fw: FirewallBackend) => Promise<T>): Promise<T> {
  const { createFirewall } = await import('../monitor/firewall/backend.js');
  const fw = createFirewall(cfg);
  try {
    return await fn(fw);
  } finally {
    await fw.dispose();
  }
}

/** This host's grant: written by this gateway, or before the fleet existed. */
function isLocal(ctx: AdminContext, g: Grant): boolean {
  return g.gateway === null || g.gateway === ctx.cfg.fleet.gateway;
}

const describe = (g: Grant): string => escapeControl(`${g.service} for ${g.address} on port ${g.port}${g.gateway ? ` at ${g.gateway}` : ''}`);

export async function closeGrantsInKernel(ctx: AdminContext, grants: readonly Grant[], reason: string): Promise<void> {
  if (grants.length === 0) {
    process.stderr.write('no live grants to close\n');
    return;
  }
  const failed: string[] = [];
  const local = grants.filter((g) => isLocal(ctx, g));
  const remote = grants.filter((g) => !isLocal(ctx, g));
  if (local.length > 0) await closeLocal(ctx, local, reason, failed);
  if (remote.length > 0) await closeRemote(ctx, remote, reason, failed);
  if (failed.length > 0) {
    // Gateway names are stored text: fail() escapes the whole message on its way to the terminal.
    throw new TumblerError('ADMIN_FIREWALL', `could not close in the firewall: ${failed.join(', ')}; they run out at their expiry`);
  }
}

async function closeLocal(ctx: AdminContext, grants: readonly Grant[], reason: string, failed: string[]): Promise<void> {
  await withFirewall(ctx.cfg, async (fw) => {
    for (const g of grants) {
      let wasThere: boolean;
      try {
        wasThere = await fw.close(g.family, g.address, g.port);
      } catch (e) {
        failed.push(`grant ${g.id} (${isTumblerError(e) ? e.code : 'error'})`);
        continue;
      }
      await ctx.data.store.closeGrant(g.id, reason);
      await auditClose(ctx, g, reason);
      process.stderr.write(`closed grant ${g.id}: ${describe(g)}${wasThere ? '' : ' (it had already left the kernel)'}\n`);
    }
  });
}

async function closeRemote(ctx: AdminContext, grants: readonly Grant[], reason: string, failed: string[]): Promise<void> {
  const ids = grants.map((g) => g.id);
  await ctx.data.store.requestClose(ids, `${reason} by ${operator()}`);
  const until = Date.now() + REMOTE_CLOSE_WAIT_MS;
  let pending = new Set(ids);
  while (pending.size > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, REMOTE_CLOSE_POLL_MS));
    const now = ctx.now();
    const rows = await ctx.data.store.grantsById([...pending]);
    for (const g of rows) {
      if (g.closedAt === null && g.expiresAt > now) continue;
      pending.delete(g.id);
      await auditClose(ctx, g, reason);
      process.stderr.write(`closed grant ${g.id}: ${describe(g)}\n`);
    }
    pending = new Set([...pending].filter((id) => rows.some((g) => g.id === id)));
  }
  for (const g of grants.filter((x) => pending.has(x.id))) {
    failed.push(`grant ${g.id} at ${g.gateway ?? '?'} (not confirmed: is that gateway running?)`);
  }
}

function auditClose(ctx: AdminContext, g: Grant, reason: string): Promise<number> {
  return ctx.data.store.recordAudit({
    event: 'admin.grant.close', user: g.userName, device: g.deviceName, address: g.address, service: g.service, port: g.port,
    result: 'ok', reason: `${reason} by ${operator()}${g.gateway ? ` at ${g.gateway}` : ''}`,
  });
}

/** Without --close-grants: say what stays open and until when. */
export function describeLeftOpen(grants: readonly Grant[], now: number): void {
  if (grants.length === 0) return;
  const last = Math.max(...grants.map((g) => g.expiresAt));
  process.stderr.write(`${grants.length} live grant(s) stay open until they expire (at the latest in ${Math.max(0, Math.ceil((last - now) / 1000))} s); --close-grants closes them now\n`);
}

/**
 * Closing live grants now: the DNAT element leaves the kernel (through the configured firewall
 * backend, as root), then the grant is marked closed in the database and audited. A grant whose
 * kernel close fails stays open in the database (it still runs out at its expiry) and the
 * command fails with ADMIN_FIREWALL.
 */
import { TumblerError, isTumblerError } from '../../shared/errors.js';
import type { TumblerConfig } from '../config/types.js';
import type { FirewallBackend } from '../monitor/firewall/backend.js';
import type { Grant } from '../store/types.js';
import { operator, type AdminContext } from './context.js';

export async function withFirewall<T>(cfg: TumblerConfig, fn: (fw: FirewallBackend) => Promise<T>): Promise<T> {
  const { createFirewall } = await import('../monitor/firewall/backend.js');
  const fw = createFirewall(cfg);
  try {
    return await fn(fw);
  } finally {
    await fw.dispose();
  }
}

export async function closeGrantsInKernel(ctx: AdminContext, grants: readonly Grant[], reason: string): Promise<void> {
  if (grants.length === 0) {
    process.stderr.write('no live grants to close\n');
    return;
  }
  const failed: string[] = [];
  await withFirewall(ctx.cfg, async (fw) => {
    for (const g of grants) {
      let wasThere: boolean;
      try {
        wasThere = await fw.close(g.family, g.address, g.port);
      } catch (e) {
        failed.push(`grant ${g.id} (${isTumblerError(e) ? e.code : 'error'})`);
        continue;
      }
      ctx.data.store.closeGrant(g.id, reason);
      ctx.data.store.recordAudit({
        event: 'admin.grant.close', user: g.userName, device: g.deviceName, address: g.address, service: g.service, port: g.port,
        result: 'ok', reason: `${reason} by ${operator()}`,
      });
      process.stderr.write(`closed grant ${g.id}: ${g.service} for ${g.address} on port ${g.port}${wasThere ? '' : ' (it had already left the kernel)'}\n`);
    }
  });
  if (failed.length > 0) {
    throw new TumblerError('ADMIN_FIREWALL', `could not close in the firewall: ${failed.join(', ')}; they run out at their expiry`);
  }
}

/** Without --close-grants: say what stays open and until when. */
export function describeLeftOpen(grants: readonly Grant[], now: number): void {
  if (grants.length === 0) return;
  const last = Math.max(...grants.map((g) => g.expiresAt));
  process.stderr.write(`${grants.length} live grant(s) stay open until they expire (at the latest in ${Math.max(0, Math.ceil((last - now) / 1000))} s); --close-grants closes them now\n`);
}

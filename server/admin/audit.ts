/**
 * `tumblerd audit`: who opened what, from where, when, with what result; admin actions too.
 * Oldest first among the newest --limit rows.
 */
import type { Command } from 'commander';
import { TumblerError } from '../../shared/errors.js';
import { withStore } from './context.js';
import { action, usageErrors } from './exit.js';
import { isoTime, printJson, printTable } from './output.js';
import { parseSince } from './since.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1_000_000;

interface AuditOptions {
  user?: string;
  since?: string;
  limit: string;
  json?: boolean;
}

export function registerAuditCommand(program: Command, configPath: () => string): void {
  usageErrors(program.command('audit'))
    .description('show the audit log of every gateway: knocks granted, admin actions (newest --limit rows, oldest first)')
    .option('--user <name>', 'only rows about this user')
    .option('--since <when>', 'only rows since an age (30m, 1h, 7d) or an ISO date (2025-01-31, 2025-01-31T12:00Z)')
    .option('--limit <n>', 'at most this many rows', String(DEFAULT_LIMIT))
    .option('--json', 'print JSON')
    .action(action(async (opts: AuditOptions) => {
      const limit = /^\d{1,7}$/.test(opts.limit) ? Number(opts.limit) : NaN;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new TumblerError('USAGE', `--limit must be 1..${MAX_LIMIT}`);
      await withStore(configPath(), async ({ data, now }) => {
        const sinceMs = opts.since === undefined ? undefined : parseSince(opts.since, now());
        const rows = await data.store.audit({ limit, ...(opts.user !== undefined && { user: opts.user }), ...(sinceMs !== undefined && { sinceMs }) });
        if (opts.json) {
          printJson(rows.map((r) => ({ ...r, at: isoTime(r.at) })));
        } else {
          printTable(['AT', 'GATEWAY', 'EVENT', 'USER', 'DEVICE', 'ADDRESS', 'SERVICE', 'PORT', 'RESULT', 'REASON'],
            rows.map((r) => [isoTime(r.at), r.gateway, r.event, r.user, r.device, r.address, r.service, r.port, r.result, r.reason]), 'no audit rows');
        }
      });
    }));
}

/**
 * `tumblerd backup FILE` (online, consistent, 0600, never overwrites: store/sqlite/backup.ts) and
 * `tumblerd restore FILE` (daemon stopped, checked, the replaced database kept aside, devices that
 * moved on after the backup resynchronised, the rest listed with the command that settles it:
 * ./restore.ts). SQLite only; PostgreSQL has its own tools.
 */
import type { Command } from 'commander';
import { TumblerError } from '../../shared/errors.js';
import { escapeControl } from '../escape.js';
import type { DeviceRef } from '../store/sqlite/resync.js';
import { loadAdminConfig } from './context.js';
import { action, usageErrors } from './exit.js';
import { isoTime, printJson } from './output.js';
import type { RestoreReport } from './restore.js';
import { DEFAULT_PID_FILE } from './stop.js';

export function registerBackupCommands(program: Command, configPath: () => string): void {
  usageErrors(program.command('backup'))
    .description('an online, consistent copy of the SQLite store, while the daemon runs, into a new file (mode 0600; never overwrites, never follows a link)')
    .argument('<file>', 'the new file (refused when it exists)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nPostgreSQL: back up with pg_dump (logical) or pg_basebackup with WAL archiving (physical, point-in-time recovery).')
    .action(action(async (file: string, opts: { json?: boolean }) => {
      const cfg = await loadAdminConfig(configPath());
      if (cfg.store.backend !== 'sqlite') {
        throw new TumblerError('ADMIN_BACKEND', 'the store is PostgreSQL: back it up with its own tools, pg_dump (e.g. pg_dump -Fc) or pg_basebackup with WAL archiving');
      }
      const { openSqliteAsOwner } = await import('./database.js');
      const { backupTo } = await import('../store/sqlite/backup.js');
      const db = await openSqliteAsOwner(cfg, cfg.store.path);
      try {
        const r = await backupTo(db, file);
        const d = r.database;
        if (opts.json) printJson({ file: r.file, bytes: r.bytes, schema: d.schema, asOf: isoTime(d.asOfMs), users: d.users, devices: d.devices });
        else process.stdout.write(`backed up ${escapeControl(cfg.store.path)} to ${escapeControl(r.file)}: ${r.bytes} bytes, schema ${d.schema}, ${d.users} users, ${d.devices} devices, as of ${isoTime(d.asOfMs)}\n`);
      } finally {
        db.close();
      }
    }));

  usageErrors(program.command('restore'))
    .description('replace the SQLite store with a backup (the daemon stopped); the replaced database is kept aside; devices that knocked after the backup are resynchronised or listed for re-enrollment')
    .argument('<file>', 'a file made by `tumblerd backup` (or any copy of a Tumbler database)')
    .option('--no-resync', 'restore the backup exactly: carry nothing over from the replaced database (devices that knocked after the backup are then locked out and listed)')
    .option('--pid-file <file>', 'pid file of `tumblerd run`, to check the daemon is stopped', DEFAULT_PID_FILE)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nPostgreSQL: restore with pg_restore, or point-in-time recovery from pg_basebackup and WAL archives.')
    .action(action(async (file: string, opts: { resync: boolean; pidFile: string; json?: boolean }) => {
      const cfg = await loadAdminConfig(configPath());
      const { restoreDatabase } = await import('./restore.js');
      const r = await restoreDatabase(cfg, {
        file, pidFile: opts.pidFile, resync: opts.resync,
        onWait: (until) => process.stderr.write(`tumblerd: some devices stay as the backup had them: waiting until ${isoTime(until)} (timestamp_window after the last write to the replaced database) so that no knock made before the restore is fresh after it\n`),
      });
      if (opts.json) printJson(restoreJson(r));
      else process.stdout.write(restoreText(r));
    }));
}

const ref = (d: DeviceRef): string => `${d.user}/${d.device}`;
const bundle = (d: DeviceRef): string => `--out ${d.user}-${d.device}.bundle`;

export function restoreJson(r: RestoreReport): Record<string, unknown> {
  const c = r.comparison;
  return {
    database: r.database, file: r.file, schema: r.backup.schema, asOf: isoTime(r.backup.asOfMs), migrated: r.migrated, keptAside: r.keptAside,
    compared: typeof r.compared === 'string' ? r.compared : 'unreadable', ...(typeof r.compared !== 'string' && { unreadable: r.compared.unreadable }),
    resynchronised: r.carried.map(ref), lockedOut: r.lockedOut.map(ref), maybeLockedOut: r.maybeLockedOut.map(ref), heldUntil: isoTime(r.heldUntilMs),
    ...(c && {
      unchanged: c.unchanged, usersAddedAfter: c.usersAddedAfter, devicesAddedAfter: c.devicesAddedAfter.map(ref),
      usersDeletedAfter: c.usersDeletedAfter, devicesDeletedAfter: c.devicesDeletedAfter.map(ref), enablement: c.enablement, servicesChanged: c.servicesChanged,
    }),
  };
}

/** The report with one command per thing the admin has to settle. */
export function restoreText(r: RestoreReport): string {
  const e = escapeControl;
  const out: string[] = [];
  const list = (head: string, lines: string[]): void => {
    if (lines.length) out.push(head, ...lines.map((l) => `  ${e(l)}`));
  };
  out.push(`restored ${e(r.database)} from ${e(r.file)} (a copy as of ${isoTime(r.backup.asOfMs) ?? 'unknown'}, schema ${r.migrated.from}${r.migrated.to !== r.migrated.from ? ` → ${r.migrated.to}` : ''})`);
  if (r.keptAside.length) out.push(`the database it replaced is kept as ${e(r.keptAside[0]!)}`);
  const c = r.comparison;
  if (c) {
    out.push(`compared with it: ${c.unchanged} devices unchanged, ${r.carried.length} resynchronised (they knocked or were re-enrolled after the backup; they keep working)`);
    list('resynchronised:', r.carried.map(ref));
  } else if (typeof r.compared === 'object') {
    out.push(`the database it replaced could not be read (${e(r.compared.unreadable)}): nothing was compared or carried over`);
  } else {
    out.push('there was no database to compare with');
  }
  list('LOCKED OUT until re-enrolled (their knocks get no answer); hand each its new bundle and password:',
    r.lockedOut.map((d) => `tumblerd device reenroll ${d.user} ${d.device} ${bundle(d)}`));
  if (r.maybeLockedOut.length) {
    list(`every device that knocked after ${isoTime(r.backup.asOfMs) ?? 'the backup'} is LOCKED OUT (\`tumbler open\` reports no answer, exit 5); re-enroll those:`,
      r.maybeLockedOut.map((d) => `tumblerd device reenroll ${d.user} ${d.device} ${bundle(d)}`));
  }
  if (c) {
    // A user added after the backup comes back with `user add` and its first device, then `device add`.
    const firstDevice = new Map<string, string>();
    const again = c.devicesAddedAfter.map((d) => {
      if (c.usersAddedAfter.includes(d.user) && !firstDevice.has(d.user)) {
        firstDevice.set(d.user, d.device);
        return `tumblerd user add ${d.user} --device ${d.device} ${bundle(d)}`;
      }
      return `tumblerd device add ${d.user} ${d.device} ${bundle(d)}`;
    });
    list('added after the backup, missing now; add them again:', [...c.usersAddedAfter.filter((u) => !firstDevice.has(u)).map((u) => `tumblerd user add ${u}`), ...again]);
    list('deleted after the backup, back now; delete them again if that was meant:', [
      ...c.usersDeletedAfter.map((u) => `tumblerd user revoke ${u}`), ...c.devicesDeletedAfter.map((d) => `tumblerd device revoke ${d.user} ${d.device}`),
    ]);
    list('enabled or disabled otherwise after the backup; to put that back:', c.enablement.map((x) =>
      `tumblerd ${x.device ? `device ${x.enabled ? 'disable' : 'enable'} ${x.user} ${x.device}` : `user ${x.enabled ? 'disable' : 'enable'} ${x.user}`}`));
    list('services changed after the backup (restored → before):', c.servicesChanged.map((s) => `user ${s.user}: ${s.restored.join(',') || '-'} → ${s.replaced.join(',') || '-'}`));
  }
  out.push('then start tumblerd (systemctl start tumblerd)');
  return out.join('\n') + '\n';
}

/**
 * `tumblerd migrate` (create or upgrade the database schema, owned by the worker user) and
 * `tumblerd stop` (SIGTERM to the running daemon, bounded wait).
 */
import type { Command } from 'commander';
import { TumblerError } from '../../shared/errors.js';
import { loadAdminConfig } from './context.js';
import { action, usageErrors } from './exit.js';
import { DEFAULT_PID_FILE, stopDaemon } from './stop.js';

export function registerMaintenanceCommands(program: Command, configPath: () => string): void {
  usageErrors(program.command('migrate'))
    .description('create the database or apply pending schema migrations (files owned by the worker user)')
    .action(action(async () => {
      const cfg = await loadAdminConfig(configPath());
      const { openAdminDatabase } = await import('./database.js');
      const data = openAdminDatabase(cfg);
      try {
        const { from, to } = data.migrated;
        process.stdout.write(from === to ? `database ${cfg.database}: schema version ${to}, up to date\n` : `database ${cfg.database}: schema version ${from} → ${to}\n`);
      } finally {
        data.close();
      }
    }));

  usageErrors(program.command('stop'))
    .description('stop the running daemon: SIGTERM to the pid in the pid file, then wait for it to exit')
    .option('--pid-file <file>', 'pid file written by `tumblerd run`', DEFAULT_PID_FILE)
    .option('--timeout <seconds>', 'how long to wait for the exit', '15')
    .action(action(async (opts: { pidFile: string; timeout: string }) => {
      const sec = /^\d{1,4}$/.test(opts.timeout) ? Number(opts.timeout) : NaN;
      if (!Number.isInteger(sec) || sec < 1) throw new TumblerError('USAGE', '--timeout must be a whole number of seconds (1..9999)');
      const r = await stopDaemon(opts.pidFile, sec * 1000);
      process.stderr.write(`tumblerd (pid ${r.pid}) stopped\n`);
    }));
}

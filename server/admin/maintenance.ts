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
    .description('create the database or apply pending schema migrations ([store] backend: SQLite files owned by the worker user, or PostgreSQL)')
    .action(action(async () => {
      const cfg = await loadAdminConfig(configPath());
      const { openAdminDatabase } = await import('./database.js');
      const data = await openAdminDatabase(cfg);
      try {
        const { from, to } = data.migrated;
        const where = `${cfg.store.backend} ${data.where}`;
        process.stdout.write(from === to ? `${where}: schema version ${to}, up to date\n` : `${where}: schema version ${from} → ${to}\n`);
      } finally {
        await data.close();
      }
    }));

  const store = usageErrors(program.command('store')).description('move the state store between backends');
  store.command('copy')
    .description('copy this host\'s SQLite store (users, devices, keys, sequences, grants, audit) into an empty PostgreSQL database; nobody re-enrolls')
    .requiredOption('--to <url>', 'target, e.g. postgresql://tumbler@/tumbler?host=/run/postgresql (no password in the URL)')
    .option('--password-file <file>', 'the target\'s password (a 0600/0400 file owned by root or the worker account)')
    .addHelpText('after', '\nThen set [store] backend = "postgres" and url in every gateway\'s config and restart them. The SQLite file is left as it was.')
    .action(action(async (opts: { to: string; passwordFile?: string }) => {
      const cfg = await loadAdminConfig(configPath());
      if (cfg.store.backend !== 'sqlite') throw new TumblerError('USAGE', 'store copy reads this host\'s SQLite store; the config already uses PostgreSQL');
      if (!/^postgres(ql)?:\/\//.test(opts.to)) throw new TumblerError('ADMIN_COPY_TARGET', '--to must be a postgresql:// URL');
      const { openAdminDatabase } = await import('./database.js');
      const { SqliteStore } = await import('../store/sqlite/store.js');
      const { readPasswordFile } = await import('../store/postgres/password-file.js');
      const { findAccount } = await import('../account.js');
      const { openStore } = await import('../store/open.js');
      const { PostgresStore } = await import('../store/postgres/store.js');
      const { copyToPostgres } = await import('../store/copy.js');
      const password = opts.passwordFile === undefined ? undefined : readPasswordFile(opts.passwordFile, findAccount(cfg.user)?.uid ?? 0);
      const target = { ...cfg, store: { backend: 'postgres' as const, url: opts.to } };
      const source = await openAdminDatabase(cfg);
      try {
        const { store: pgStore } = await openStore(target, password === undefined ? {} : { password });
        try {
          if (!(source.store instanceof SqliteStore) || !(pgStore instanceof PostgresStore)) throw new TumblerError('USAGE', 'store copy goes from SQLite to PostgreSQL');
          const n = await copyToPostgres(source.store.db, pgStore.pool, cfg.fleet.gateway);
          process.stdout.write(`copied ${n.users} users, ${n.devices} devices, ${n.sequences} sequences, ${n.grants} grants, ${n.audit} audit rows to PostgreSQL\n`);
        } finally {
          await pgStore.close();
        }
      } finally {
        await source.close();
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

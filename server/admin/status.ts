/**
 * `tumblerd status [--json]`: the running daemon on one screen, from what it publishes next to
 * its pid file (./status-report.ts); no capture, no store, no write. Exit 0 while it runs, 3 when
 * it does not (ADMIN_NOT_RUNNING).
 */
import type { Command } from 'commander';
import { action, usageErrors } from './exit.js';
import { printJson } from './output.js';
import { DEFAULT_PID_FILE } from './stop.js';

export function registerStatusCommand(program: Command): void {
  usageErrors(program.command('status'))
    .description('show the running daemon: uptime, worker, firewall, open grants, recent knocks, incidents, store health (exit 3 when not running)')
    .option('--json', 'print JSON')
    .option('--pid-file <file>', 'pid file written by `tumblerd run` (the state files are next to it)', DEFAULT_PID_FILE)
    .action(action(async (opts: { json?: boolean; pidFile: string }) => {
      const { readStatus, statusJson } = await import('./status-report.js');
      const report = readStatus(opts.pidFile);
      if (opts.json) {
        printJson(statusJson(report));
      } else {
        const { statusText } = await import('./status-text.js');
        process.stdout.write(statusText(report));
      }
    }));
}

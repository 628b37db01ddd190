#!/usr/bin/env node
/**
 * tumblerd: the Tumbler server. `run` starts the daemon (privileged monitor + unprivileged worker);
 * the other commands administer users, devices, grants and the audit log.
 * Exit codes: server/admin/exit.ts (0 ok, 1 runtime error, 2 bad config or usage, 3 not found / already exists).
 */
import { Command } from 'commander';
import { VERSION } from '../shared/version.js';
import { EXIT_CODES_HELP, fail, usageErrors } from './admin/exit.js';

export const DEFAULT_CONFIG = '/etc/tumbler/tumblerd.toml';

const program = usageErrors(new Command('tumblerd'))
  .description('Tumbler port-knocking server: hidden services opened by one-time knocks')
  .version(VERSION, '-V, --version')
  .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
  .showHelpAfterError()
  .addHelpText('after', `\n${EXIT_CODES_HELP}\nConfig reference: server/config/example.toml; protocol: docs/protocol.md.`);

program.command('run')
  .description('start the daemon: privileged firewall monitor + unprivileged packet worker (as root)')
  .option('--pid-file <file>', 'where to write the monitor pid (used by `tumblerd stop`)', '/run/tumbler/tumblerd.pid')
  .action(async (opts: { pidFile: string }) => {
    try {
      const { loadConfigSource } = await import('./config/parse.js');
      const { runDaemon } = await import('./monitor/run.js');
      // The worker gets this same text from the monitor: both run one config until the next `run`.
      const { text, config } = loadConfigSource(program.opts().config as string);
      await runDaemon(config, text, opts.pidFile);
    } catch (e) {
      fail(e);
    }
  });

const { registerAdminCommands } = await import('./admin/index.js');
registerAdminCommands(program, () => program.opts().config as string);

await program.parseAsync(process.argv);

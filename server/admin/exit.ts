/**
 * Exit codes and error printing for every tumblerd command, one table in the shape the client
 * uses too (shared/exit-table.ts). Errors print as "tumblerd: <message> (<CODE>)"; messages never
 * carry secrets.
 */
import type { Command, CommanderError } from 'commander';
import { isTumblerError } from '../../shared/errors.js';
import { EXIT_CODES_HELP, exitCodeFor } from '../exit-codes.js';
import { escapeControl } from '../escape.js';

export { EXIT_CODES_HELP, exitCodeFor };

/** Print the error as one line on stderr and exit with its code. */
export function fail(e: unknown): never {
  const code = isTumblerError(e) ? e.code : 'UNKNOWN';
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`tumblerd: ${escapeControl(message)} (${code})\n`);
  process.exit(exitCodeFor(code));
}

/** Wrap a commander action: any error becomes `fail(e)`. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      fail(e);
    }
  };
}

/**
 * Command-line mistakes (unknown option, missing argument, no subcommand) exit 2 and print as
 * "tumblerd: <what> (USAGE)"; explicit --help exits 0. Set on a command before its subcommands
 * are added: commander copies both settings to them.
 */
export function usageErrors(cmd: Command): Command {
  return cmd
    .configureOutput({
      outputError: (str, write) => write(`tumblerd: ${str.replace(/^error: /, '').trimEnd()} (USAGE)\n`),
    })
    .exitOverride((err: CommanderError) => {
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
      process.exit(ok ? 0 : 2);
    });
}

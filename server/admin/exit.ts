/**
 * Exit codes and error printing for every tumblerd command, one table in the shape the client
 * uses too (shared/exit-table.ts). Errors print as "tumblerd: <message> (<CODE>)"; messages never
 * carry secrets.
 */
import type { Command, CommanderError } from 'commander';
import { isTumblerError } from '../../shared/errors.js';
import { exitTable } from '../../shared/exit-table.js';

const table = exitTable({
  statuses: {
    OK: { code: 0, meaning: 'success' },
    RUNTIME: { code: 1, meaning: 'runtime error' },
    USAGE: { code: 2, meaning: 'bad config, usage, password source or database path' },
    NOT_FOUND: { code: 3, meaning: 'not found, or already exists' },
  },
  byError: {
    USAGE: 'USAGE',
    STORE_OPEN: 'USAGE',
    STORE_SCHEMA_NEWER: 'USAGE',
    ADMIN_UNKNOWN_SERVICE: 'USAGE',
    ADMIN_BAD_ADDRESS: 'USAGE',
    ADMIN_BAD_TTL: 'USAGE',
    ADMIN_NO_PASSWORD: 'USAGE',
    ADMIN_PASSWORD_MISMATCH: 'USAGE',
    ADMIN_PASSWORD_FILE: 'USAGE',
    ADMIN_PASSWORD_FILE_MODE: 'USAGE',
    ADMIN_INTERRUPTED: 'USAGE',
    KDF_WEAK_PASSWORD: 'USAGE',
    STORE_BAD_NAME: 'USAGE',
    PRIVSEP_USER: 'USAGE',
    STORE_NOT_FOUND: 'NOT_FOUND',
    STORE_EXISTS: 'NOT_FOUND',
    ADMIN_NOT_RUNNING: 'NOT_FOUND',
    ADMIN_OUT_EXISTS: 'NOT_FOUND',
  },
  byPrefix: [['CONFIG_', 'USAGE']],
  fallback: 'RUNTIME',
});

export const EXIT_CODES_HELP = table.help;

export function exitCodeFor(code: string): number {
  return table.statusFor(code);
}

/** Print the error as one line on stderr and exit with its code. */
export function fail(e: unknown): never {
  const code = isTumblerError(e) ? e.code : 'UNKNOWN';
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`tumblerd: ${message} (${code})\n`);
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

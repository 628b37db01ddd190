/**
 * Exit codes and error printing for every tumblerd command.
 * 0 ok, 1 runtime error, 2 bad config / usage / database path, 3 not found or already exists.
 * Errors print as "tumblerd: <message> (<CODE>)"; messages never carry secrets.
 */
import type { Command, CommanderError } from 'commander';
import { isTumblerError } from '../../shared/errors.js';

/** Codes of this CLI that mean "the admin asked for something invalid" (exit 2). */
const USAGE_CODES = new Set([
  'USAGE',
  'STORE_OPEN',
  'STORE_SCHEMA_NEWER',
  'ADMIN_UNKNOWN_SERVICE',
  'ADMIN_BAD_ADDRESS',
  'ADMIN_BAD_TTL',
  'ADMIN_NO_PASSWORD',
  'ADMIN_PASSWORD_MISMATCH',
  'ADMIN_PASSWORD_FILE',
  'KDF_WEAK_PASSWORD',
  'STORE_BAD_NAME',
  'PRIVSEP_USER',
]);

/** Codes that mean "no such thing" or "that thing already exists" (exit 3). */
const NOT_FOUND_CODES = new Set(['STORE_NOT_FOUND', 'STORE_EXISTS', 'ADMIN_NOT_RUNNING', 'ADMIN_OUT_EXISTS']);

export function exitCodeFor(code: string): number {
  if (code.startsWith('CONFIG_') || USAGE_CODES.has(code)) return 2;
  if (NOT_FOUND_CODES.has(code)) return 3;
  return 1;
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

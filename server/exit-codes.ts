/**
 * Exit codes of every tumblerd process (admin commands, the monitor, the worker), by error code:
 * 0 ok, 1 runtime error, 2 bad config / usage / database path (restarting cannot help), 3 not
 * found or already exists.
 */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_CONFIG = 2;
export const EXIT_NOT_FOUND = 3;
/** The worker could not prove it dropped its privileges. */
export const EXIT_PRIVSEP = 3;

/** Codes that mean "the admin asked for something invalid" or "the set-up is wrong" (exit 2). */
const USAGE_CODES = new Set([
  'USAGE',
  'STORE_OPEN',
  'STORE_SCHEMA_NEWER',
  'STORE_UNSAFE_FILE',
  'STORE_PASSWORD_FILE',
  'ADMIN_UNKNOWN_SERVICE',
  'ADMIN_BAD_ADDRESS',
  'ADMIN_BAD_TTL',
  'ADMIN_NO_PASSWORD',
  'ADMIN_PASSWORD_MISMATCH',
  'ADMIN_PASSWORD_FILE',
  'ADMIN_COPY_TARGET',
  'KDF_WEAK_PASSWORD',
  'STORE_BAD_NAME',
  'PRIVSEP_USER',
]);

/** Codes that mean "no such thing" or "that thing already exists" (exit 3). */
const NOT_FOUND_CODES = new Set(['STORE_NOT_FOUND', 'STORE_EXISTS', 'ADMIN_NOT_RUNNING', 'ADMIN_OUT_EXISTS', 'ADMIN_COPY_NOT_EMPTY']);

export function exitCodeFor(code: string): number {
  if (code.startsWith('CONFIG_') || USAGE_CODES.has(code)) return EXIT_CONFIG;
  if (NOT_FOUND_CODES.has(code)) return EXIT_NOT_FOUND;
  return EXIT_RUNTIME;
}

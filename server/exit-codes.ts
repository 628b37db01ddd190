/**
 * Exit codes of every tumblerd process (admin commands, the monitor, the worker), by error code,
 * in the shared exit-table shape (shared/exit-table.ts): 0 ok, 1 runtime error, 2 bad config /
 * usage / password source / database path (restarting cannot help), 3 not found or already exists,
 * 4 the daemon (or another process) uses the database and must be stopped first (restore).
 */
import { exitTable } from '../shared/exit-table.js';

const table = exitTable({
  statuses: {
    OK: { code: 0, meaning: 'success' },
    RUNTIME: { code: 1, meaning: 'runtime error' },
    USAGE: { code: 2, meaning: 'bad config, usage, password source or database path' },
    NOT_FOUND: { code: 3, meaning: 'not found, or already exists' },
    BUSY: { code: 4, meaning: 'the daemon runs or the database is in use: stop it first (restore)' },
  },
  byError: {
    USAGE: 'USAGE',
    STORE_OPEN: 'USAGE',
    STORE_SCHEMA_NEWER: 'USAGE',
    STORE_UNSAFE_FILE: 'USAGE',
    STORE_PASSWORD_FILE: 'USAGE',
    ADMIN_UNKNOWN_SERVICE: 'USAGE',
    ADMIN_BAD_ADDRESS: 'USAGE',
    ADMIN_BAD_TTL: 'USAGE',
    ADMIN_NO_PASSWORD: 'USAGE',
    ADMIN_PASSWORD_MISMATCH: 'USAGE',
    ADMIN_PASSWORD_FILE: 'USAGE',
    ADMIN_PASSWORD_FILE_MODE: 'USAGE',
    ADMIN_INTERRUPTED: 'USAGE',
    ADMIN_COPY_TARGET: 'USAGE',
    KDF_WEAK_PASSWORD: 'USAGE',
    STORE_BAD_NAME: 'USAGE',
    PRIVSEP_USER: 'USAGE',
    STORE_NOT_FOUND: 'NOT_FOUND',
    STORE_EXISTS: 'NOT_FOUND',
    ADMIN_NOT_RUNNING: 'NOT_FOUND',
    ADMIN_OUT_EXISTS: 'NOT_FOUND',
    ADMIN_COPY_NOT_EMPTY: 'NOT_FOUND',
    ADMIN_RESTORE_INVALID: 'USAGE',
    ADMIN_BACKEND: 'USAGE',
    ADMIN_DAEMON_RUNNING: 'BUSY',
  },
  byPrefix: [['CONFIG_', 'USAGE']],
  fallback: 'RUNTIME',
});

export const EXIT_RUNTIME = table.status.RUNTIME;
export const EXIT_CONFIG = table.status.USAGE;
/** The worker could not prove it dropped its privileges (the worker's own status, not an error code's). */
export const EXIT_PRIVSEP = 3;

export const EXIT_CODES_HELP = table.help;

export function exitCodeFor(code: string): number {
  return table.statusFor(code);
}

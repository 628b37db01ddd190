/**
 * The `tumbler` exit codes, one table (shared/exit-table.ts): error code → exit status, and the
 * text every `--help` shows. One status per cause a user can act on: the message says the action.
 * Kept free of heavy imports so the CLI can load it for `--help` at no cost.
 */
import { exitTable } from '../../shared/exit-table.js';

const table = exitTable({
  statuses: {
    OK: { code: 0, meaning: 'success' },
    OTHER: { code: 1, meaning: 'any other error' },
    USAGE: { code: 2, meaning: 'usage error or bad argument (unknown option, service, profile or gateway; weak password; password file readable by others)' },
    PROFILE: { code: 3, meaning: 'profile missing, corrupt, of another version, not yours or already there; bad enrollment bundle' },
    HELPER: { code: 4, meaning: 'raw-socket helper missing or not privileged (fix: sudo tumbler install-helper)' },
    SILENT: { code: 5, meaning: 'no answer from any gateway: the server is down or the network path drops the knock' },
    CLOCK: { code: 6, meaning: 'the local clock is too far ahead of or behind the server\'s (set it right, e.g. NTP)' },
    PROXY_CONNECT: { code: 7, meaning: 'proxy: the connection to the granted port failed' },
    PASSWORD: { code: 8, meaning: 'wrong password: it does not match this enrollment (type it again)' },
    ADDRESS: { code: 9, meaning: 'the server sees this host at another address than the knock named (--public-address; a NAT with several public addresses)' },
    REFUSED: { code: 10, meaning: 'the server answers but refused the knock (service not allowed for you, or not over this address family)' },
    AGENT: { code: 11, meaning: 'agent: none running, profile not unlocked in it, its socket not safely yours, or it failed mid-request' },
  },
  byError: {
    USAGE: 'USAGE',
    BAD_ARGUMENT: 'USAGE',
    BAD_ADDRESS: 'USAGE',
    SERVICE_UNKNOWN: 'USAGE',
    SERVICE_REQUIRED: 'USAGE',
    GATEWAY_UNKNOWN: 'USAGE',
    PROFILE_NAME_INVALID: 'USAGE',
    KDF_WEAK_PASSWORD: 'USAGE',
    PASSWORD_FILE: 'USAGE',
    PASSWORD_FILE_MODE: 'USAGE',
    PASSWORD_EMPTY: 'USAGE',
    PASSWORD_MISMATCH: 'USAGE',
    PASSWORD_UNAVAILABLE: 'USAGE',
    INTERRUPTED: 'USAGE',

    PROFILE_NOT_FOUND: 'PROFILE',
    PROFILE_CORRUPT: 'PROFILE',
    PROFILE_VERSION: 'PROFILE',
    PROFILE_PERMISSIONS: 'PROFILE',
    PROFILE_EXISTS: 'PROFILE',
    PROFILE_CHANGED: 'PROFILE',
    PROFILE_LOCKED: 'PROFILE',
    BUNDLE_INVALID: 'PROFILE',
    BUNDLE_VERSION: 'PROFILE',
    BUNDLE_CHECKSUM: 'PROFILE',
    BUNDLE_UNREADABLE: 'PROFILE',
    KDF_BAD_PARAMS: 'PROFILE',

    INSTALL_NOT_ROOT: 'HELPER',

    SERVER_SILENT: 'SILENT',
    NO_ROUTE: 'SILENT',
    CLOCK_AHEAD: 'CLOCK',
    CLOCK_BEHIND: 'CLOCK',
    CLOCK_SKEW: 'CLOCK',
    PROXY_CONNECT: 'PROXY_CONNECT',
    PASSWORD_WRONG: 'PASSWORD',
    ADDRESS_MISMATCH: 'ADDRESS',
    ADDRESS_UNSTABLE: 'ADDRESS',
    KNOCK_REFUSED: 'REFUSED',
  },
  byPrefix: [['HELPER_', 'HELPER'], ['AGENT_', 'AGENT']],
  fallback: 'OTHER',
});

export const EXIT = table.status;

export function exitCodeFor(code: string): number {
  return table.statusFor(code);
}

export const EXIT_CODES_HELP = `
${table.help}
Errors are one line on stderr: "tumbler: <message> (<CODE>)".`;

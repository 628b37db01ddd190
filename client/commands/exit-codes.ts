/**
 * The `tumbler` exit codes, one table: error code → exit status, and the text every `--help` shows.
 * Kept free of imports so the CLI can load it for `--help` at no cost.
 */
export const EXIT = {
  OK: 0,
  OTHER: 1,
  USAGE: 2,
  PROFILE: 3,
  HELPER: 4,
  NO_REPLY: 5,
  CLOCK: 6,
  PROXY_CONNECT: 7,
  AGENT: 8,
} as const;

const BY_CODE: Readonly<Record<string, number>> = {
  USAGE: EXIT.USAGE,
  BAD_ARGUMENT: EXIT.USAGE,
  BAD_ADDRESS: EXIT.USAGE,
  SERVICE_UNKNOWN: EXIT.USAGE,
  SERVICE_REQUIRED: EXIT.USAGE,
  PROFILE_NAME_INVALID: EXIT.USAGE,
  PROFILE_EXISTS: EXIT.USAGE,
  KDF_WEAK_PASSWORD: EXIT.USAGE,
  PASSWORD_FILE: EXIT.USAGE,
  PASSWORD_EMPTY: EXIT.USAGE,
  PASSWORD_MISMATCH: EXIT.USAGE,
  PASSWORD_UNAVAILABLE: EXIT.USAGE,

  PROFILE_NOT_FOUND: EXIT.PROFILE,
  PROFILE_CORRUPT: EXIT.PROFILE,
  PROFILE_VERSION: EXIT.PROFILE,
  PROFILE_PERMISSIONS: EXIT.PROFILE,
  BUNDLE_INVALID: EXIT.PROFILE,
  BUNDLE_VERSION: EXIT.PROFILE,
  BUNDLE_CHECKSUM: EXIT.PROFILE,
  BUNDLE_UNREADABLE: EXIT.PROFILE,
  KDF_BAD_PARAMS: EXIT.PROFILE,

  HELPER_MISSING: EXIT.HELPER,
  HELPER_NOT_PRIVILEGED: EXIT.HELPER,
  HELPER_PRIV_DROP: EXIT.HELPER,
  INSTALL_NOT_ROOT: EXIT.HELPER,

  OPEN_NO_REPLY: EXIT.NO_REPLY,
  CLOCK_SKEW: EXIT.CLOCK,
  PROXY_CONNECT: EXIT.PROXY_CONNECT,

  AGENT_UNAVAILABLE: EXIT.AGENT,
  AGENT_LOCKED: EXIT.AGENT,
  AGENT_UNSAFE: EXIT.AGENT,
  AGENT_RUNNING: EXIT.AGENT,
  AGENT_START: EXIT.AGENT,
  AGENT_LISTEN: EXIT.AGENT,
  AGENT_INSPECTOR: EXIT.AGENT,
  AGENT_VERSION: EXIT.AGENT,
  AGENT_IO: EXIT.AGENT,
  AGENT_TRUNCATED: EXIT.AGENT,
  AGENT_TIMEOUT: EXIT.AGENT,
  AGENT_BAD_FRAME: EXIT.AGENT,
  AGENT_BAD_OP: EXIT.AGENT,
  AGENT_FULL: EXIT.AGENT,
};

export function exitCodeFor(code: string): number {
  return BY_CODE[code] ?? EXIT.OTHER;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  any other error
  2  usage error or bad argument (unknown option, service or profile name, weak password)
  3  profile missing, corrupt, of another version or with unsafe permissions; bad enrollment bundle
  4  raw-socket helper missing or not privileged (fix: sudo tumbler install-helper)
  5  no reply to the knock (lost packets, server down, sequence out of step, ISN-rewriting middlebox, clock)
  6  the local clock looks far off (set it right, then retry)
  7  proxy: the connection to the granted port failed
  8  agent: none running, profile not unlocked in it, its socket not safely yours, or it failed mid-request
Errors are one line on stderr: "tumbler: <message> (<CODE>)".`;

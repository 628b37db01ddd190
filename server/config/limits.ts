/**
 * Limits and defaults for tumblerd.toml values, named once. The parser (parse.ts, sections.ts)
 * checks against these and quotes them in its error messages.
 */
import {
  MAX_GATEWAY_ADDRESSES, MAX_GATEWAYS, MAX_KNOCK_RANGE, MAX_SERVICE_ID, MAX_TIMESTAMP_WINDOW_SEC, MIN_KNOCK_RANGE,
  MIN_TIMESTAMP_WINDOW_SEC, SERVICE_NAME_RE,
} from '../../shared/protocol/constants.js';

/** Largest config file read (checked before reading). */
export const MAX_CONFIG_BYTES = 1 << 20;
/** Deepest nesting of inline tables/arrays smol-toml will parse. */
export const MAX_TOML_DEPTH = 8;

/** Both port ranges lie in the unprivileged ports. */
export const MIN_RANGE_PORT = 1024;
export const MAX_PORT = 65535;
/** Knock range and timestamp window bounds are the protocol's (shared/protocol/constants.ts). */
export { MIN_KNOCK_RANGE, MAX_KNOCK_RANGE, MIN_TIMESTAMP_WINDOW_SEC, MAX_TIMESTAMP_WINDOW_SEC };
export const MIN_FORWARD_RANGE = 16;

export const DEFAULT_TIMESTAMP_WINDOW_SEC = 30;

export const MAX_GRACE_SEC = 300;
export const DEFAULT_GRACE_SEC = 30;

export const MIN_TTL_SEC = 5;
export const MAX_MAX_TTL_SEC = 86400;
export const DEFAULT_TTL_SEC = 30;
export const DEFAULT_MAX_TTL_SEC = 300;

export const MIN_SERVICE_ID = 1;
export { MAX_SERVICE_ID };

/** Service names: the protocol's rule (bundle, profile, store and the monitor IPC share it). */
export const SERVICE_NAME = SERVICE_NAME_RE;
/** A local account name (the worker's, a sudo caller's): POSIX-portable characters, up to 32. */
export const ACCOUNT_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;
/** Linux IFNAMSIZ - 1, printable ASCII without '/' or ':' (dev_valid_name), not "." or "..". */
export const INTERFACE_NAME = /^[\x21-\x2e\x30-\x39\x3b-\x7e]{1,15}$/;
/** A gateway's name in a fleet (a host name or any short label). */
export const GATEWAY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Gateways a fleet lists, and addresses per gateway: what an enrollment bundle can carry. */
export { MAX_GATEWAYS, MAX_GATEWAY_ADDRESSES };

/**
 * Where the Debian packages put things, named once: the packages' names and install roots, and the
 * system paths that the maintainer scripts, the systemd unit and the man pages agree on. The
 * maintainer-script templates in packaging/<package>/ get these as @NAME@ substitutions
 * (substitutions()). Facts the code owns are imported from it; facts other files repeat (the unit,
 * example.toml, tumblerd's --config default) are cross-checked by test/integration/package.test.ts.
 */
import { posix } from 'node:path';
import { DEFAULT_PID_FILE } from '../../server/admin/stop.js';
import { OWN_NFT_TABLE } from '../../server/admin/firewall-info.js';

export const SERVER_PACKAGE = 'tumbler-server';
export const CLIENT_PACKAGE = 'tumbler-client';

/**
 * Install roots. Each mirrors the checkout's layout (dist/, migrations/, shared/native/,
 * client/helper/, node_modules/), so the code's own relative look-ups (migrations, the native
 * addon, the helper next to the client) work unchanged. Two roots, not one shared tree: two
 * packages may not own the same file.
 */
export const SERVER_ROOT = '/usr/lib/tumbler-server';
export const CLIENT_ROOT = '/usr/lib/tumbler-client';

/** The interpreter: the nodejs package's, never one found on PATH (the native modules are built for it). */
export const NODE = '/usr/bin/node';
export const BIN_DIR = '/usr/bin';
/** Debian 12 ships units in /lib (files must not move between /lib and /usr/lib before trixie). */
export const UNIT_DIR = '/lib/systemd/system';
export const UNIT_NAME = 'tumblerd.service';
/** systemd user units shipped by packages (systemd's systemduserunitdir); the client's agent unit. */
export const USER_UNIT_DIR = '/usr/lib/systemd/user';
export const AGENT_UNIT_NAME = 'tumbler-agent.service';

/** tumblerd's --config default (server/main.ts DEFAULT_CONFIG; that module runs the CLI when imported). */
export const CONFIG_FILE = '/etc/tumbler/tumblerd.toml';
export const CONFIG_DIR = posix.dirname(CONFIG_FILE);
/** The worker's account: example.toml's server.user and the unit's chown. */
export const WORKER_ACCOUNT = 'tumbler';
/** The unit's StateDirectory= and the directory of example.toml's database. */
export const STATE_DIR = '/var/lib/tumbler';
export const PID_FILE = DEFAULT_PID_FILE;

export const TUMBLERD = `${BIN_DIR}/tumblerd`;
export const TUMBLER = `${BIN_DIR}/tumbler`;
/** The raw-socket helper where the client looks for it (client/transport/send.ts repoHelperPath). */
export const HELPER = `${CLIENT_ROOT}/client/helper/tumbler-helper`;
/** The ssh connector (ProxyUseFdpass), next to the helper: what ~/.ssh/config names. */
export const CONNECTOR = `${CLIENT_ROOT}/client/connector/tumbler-connect`;

export const docDir = (pkg: string): string => `/usr/share/doc/${pkg}`;
export const EXAMPLE_CONFIG = `${docDir(SERVER_PACKAGE)}/examples/tumblerd.toml`;

/** The @NAME@ values of the maintainer-script templates. */
export function substitutions(): Readonly<Record<string, string>> {
  return {
    SERVER_PACKAGE, CLIENT_PACKAGE, UNIT_NAME, CONFIG_FILE, CONFIG_DIR, WORKER_ACCOUNT, STATE_DIR, PID_FILE,
    TUMBLERD, HELPER, EXAMPLE_CONFIG, PID_DIR: posix.dirname(PID_FILE),
    NFT_TABLE: `${OWN_NFT_TABLE.family} ${OWN_NFT_TABLE.table}`,
  };
}

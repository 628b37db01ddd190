/**
 * Where client profiles live: `$XDG_CONFIG_HOME/tumbler/profiles` (default `~/.config/tumbler/profiles`),
 * or under an injected base directory. Directories are created mode 0700 and tightened to 0700 if
 * they already exist with wider modes.
 */
import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { TumblerError } from '../../shared/errors.js';

export interface ConfigDirOptions {
  /** Use this instead of `$XDG_CONFIG_HOME/tumbler` (tests, --config-dir). */
  baseDir?: string;
  env?: NodeJS.ProcessEnv;
  home?: string;
}

/** The client's config directory (`.../tumbler`). */
export function configDir(opts: ConfigDirOptions = {}): string {
  if (opts.baseDir) return opts.baseDir;
  const env = opts.env ?? process.env;
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(opts.home ?? homedir(), '.config');
  return join(base, 'tumbler');
}

/** The directory holding `<name>.json` profiles and their lock files. */
export function profilesDir(opts: ConfigDirOptions = {}): string {
  return join(configDir(opts), 'profiles');
}

/**
 * Creates `dir` mode 0700 (any missing parents too, e.g. `~/.config/tumbler`) and tightens an
 * existing one to 0700. Refuses a symlink, a non-directory, and a directory owned by another
 * user (PROFILE_PERMISSIONS): whoever owns it could swap the profiles inside.
 */
export async function ensurePrivateDir(dir: string, uid: number | undefined = process.getuid?.()): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fsp.lstat(dir);
  if (!st.isDirectory()) throw new TumblerError('PROFILE_PERMISSIONS', `${dir} is not a directory`);
  if (uid !== undefined && st.uid !== uid) {
    throw new TumblerError('PROFILE_PERMISSIONS', `${dir} belongs to uid ${st.uid}, not to you (uid ${uid}); use your own profile directory`);
  }
  if ((st.mode & 0o777) !== 0o700) await fsp.chmod(dir, 0o700);
}

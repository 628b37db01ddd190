/**
 * Profile files: `<dir>/<name>.json`, mode 0600, in a 0700 directory (see paths.ts). Loads refuse
 * group/world-accessible files and files owned by another user (PROFILE_PERMISSIONS), symlinks,
 * oversized or invalid documents (PROFILE_CORRUPT), other versions (PROFILE_VERSION) and absent
 * profiles (PROFILE_NOT_FOUND); a format-1 profile loads upgraded (schema.ts) and is saved as
 * format 2. Saves are atomic (atomic.ts). A read-modify-write must run inside `withProfileLock`.
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { TumblerError } from '../../shared/errors.js';
import { atomicWriteFile, sweepStaleTemps } from './atomic.js';
import { ensurePrivateDir } from './paths.js';
import { PROFILE_NAME_RE, type Profile, validateProfile } from './schema.js';

const MAX_PROFILE_BYTES = 64 * 1024;

function checkName(name: string): void {
  if (typeof name !== 'string' || !PROFILE_NAME_RE.test(name)) {
    throw new TumblerError('PROFILE_NAME_INVALID', 'profile names are 1-64 of a-z 0-9 _ . - (not starting with . or -)');
  }
}

export function profilePath(dir: string, name: string): string {
  checkName(name);
  return join(dir, `${name}.json`);
}

export async function loadProfile(dir: string, name: string): Promise<Profile> {
  const path = profilePath(dir, name);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TumblerError('PROFILE_NOT_FOUND', `no profile named "${name}"`);
    if (code === 'ELOOP') throw new TumblerError('PROFILE_PERMISSIONS', `profile "${name}" is a symlink`);
    if (code === 'EACCES') throw new TumblerError('PROFILE_PERMISSIONS', `profile "${name}" is not readable`);
    throw e;
  }
  let text: string;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new TumblerError('PROFILE_CORRUPT', `profile "${name}" is not a regular file`);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) {
      throw new TumblerError('PROFILE_PERMISSIONS', `profile "${name}" belongs to uid ${st.uid}, not to you (uid ${uid})`);
    }
    if ((st.mode & 0o077) !== 0) {
      throw new TumblerError('PROFILE_PERMISSIONS', `profile "${name}" is accessible by group or others (chmod 600 ${path})`);
    }
    if (st.size > MAX_PROFILE_BYTES) throw new TumblerError('PROFILE_CORRUPT', `profile "${name}" is too large`);
    text = await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new TumblerError('PROFILE_CORRUPT', `profile "${name}" is not valid JSON`);
  }
  return validateProfile(doc, name);
}

export interface SaveOptions {
  now?: () => number;
}

/** Validates and atomically writes `profile` (updatedAt set to now); returns what was written. */
export async function saveProfile(dir: string, profile: Profile, opts: SaveOptions = {}): Promise<Profile> {
  const path = profilePath(dir, profile.name);
  const next: Profile = { ...profile, updatedAt: Math.floor((opts.now ?? Date.now)()) };
  try {
    validateProfile(JSON.parse(JSON.stringify(next)), profile.name);
  } catch (e) {
    throw new TumblerError('PROFILE_INVALID', `refusing to save an invalid profile (${(e as Error).message})`, { cause: e });
  }
  await ensurePrivateDir(dir);
  await sweepStaleTemps(dir, `${profile.name}.json`);
  await atomicWriteFile(path, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  return next;
}

/** Names of the profiles in `dir`, sorted; [] when the directory does not exist. */
export async function listProfiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -'.json'.length))
    .filter((n) => PROFILE_NAME_RE.test(n))
    .sort();
}

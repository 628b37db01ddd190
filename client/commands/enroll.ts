/**
 * `tumbler enroll <BUNDLE|FILE>`: decode the admin's enrollment bundle, get the password (file,
 * hidden prompt, or a stdin line), derive the device key with the bundle's scrypt parameters,
 * check it against the bundle's keyed check (a mistyped password, or a bundle that is not the one
 * the admin made, stops here: PASSWORD_WRONG), and save a new profile (mode 0600) holding the
 * gateways and the first sequence. With --no-store-key the key is not written: each `open` asks
 * for the password again (checked at once against the profile's key check).
 */
import { promises as fsp } from 'node:fs';
import { TumblerError } from '../../shared/errors.js';
import { bundleCheckMatches, decodeBundle, type Bundle } from '../../shared/protocol/bundle.js';
import { keyCheck } from '../../shared/protocol/check.js';
import { MAX_BUNDLE_CHARS } from '../../shared/protocol/constants.js';
import { deriveDeviceKey } from '../../shared/protocol/kdf.js';
import { withProfileLock } from '../state/lock.js';
import { ensurePrivateDir } from '../state/paths.js';
import { loadProfile, saveProfile } from '../state/profile.js';
import { PROFILE_NAME_RE, type Profile } from '../state/schema.js';
import { duration, profileDir } from './context.js';
import { obtainPassword } from './password.js';

/** A bundle file may hold the bundle with line breaks and a little text around: twice the bundle's bound. */
const MAX_BUNDLE_BYTES = 2 * MAX_BUNDLE_CHARS;
const CLOCK_WARN_MS = 60_000;

export interface EnrollOptions {
  readonly name?: string;
  readonly passwordFile?: string;
  readonly storeKey: boolean;
  readonly force?: boolean;
}

export interface EnrollDeps {
  readonly dir: string;
  readonly now: () => number;
  readonly password: () => Promise<string>;
  readonly warn?: (line: string) => void;
  /** With the key kept off disk: hands the derived key to the agent (true when it took it). */
  readonly unlock?: (profile: string, key: Buffer, kdf: Profile['kdf']) => Promise<boolean>;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c as string);
    n += b.length;
    if (n > MAX_BUNDLE_BYTES) throw new TumblerError('BUNDLE_INVALID', 'enrollment bundle: too long');
    parts.push(b);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** The bundle text from the argument: the bundle itself, "-" for stdin, or a file holding it. */
export async function bundleText(arg: string): Promise<string> {
  if (/^\s*tumbler\d*\./.test(arg)) return arg;
  if (arg === '-') return readAll(process.stdin);
  try {
    const fh = await fsp.open(arg, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > MAX_BUNDLE_BYTES) throw new TumblerError('BUNDLE_INVALID', 'enrollment bundle: not a small regular file');
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof TumblerError) throw e;
    throw new TumblerError('BUNDLE_UNREADABLE', `"${arg.slice(0, 80)}" is neither an enrollment bundle nor a readable file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** `<user>@<first gateway address>` made into a profile name ("alice-192.0.2.1"), else the device name. */
export function defaultProfileName(b: Pick<Bundle, 'user' | 'gateways' | 'device'>): string {
  const s = `${b.user}@${b.gateways[0]![0]!}`.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[-.]+/, '').slice(0, 64);
  return PROFILE_NAME_RE.test(s) ? s : b.device;
}

export interface Enrolled {
  readonly profile: string;
  readonly gateways: readonly (readonly string[])[];
  readonly user: string;
  readonly device: string;
  readonly services: string[];
  readonly keyStored: boolean;
  /** The key kept off disk was handed to the running agent. */
  readonly unlocked: boolean;
}

/** Enrolls from bundle text. Throws BUNDLE_*, PROFILE_EXISTS, PASSWORD_WRONG, KDF_* etc. */
export async function enroll(text: string, o: EnrollOptions, deps: EnrollDeps): Promise<Enrolled> {
  const b = decodeBundle(text); // before the password: a bad bundle fails at once
  const name = o.name ?? defaultProfileName(b);
  if (!PROFILE_NAME_RE.test(name)) throw new TumblerError('PROFILE_NAME_INVALID', 'profile names are 1-64 of a-z 0-9 _ . - (not starting with . or -)');
  const exists = async (): Promise<boolean> => {
    try {
      await loadProfile(deps.dir, name);
      return true;
    } catch (e) {
      if (e instanceof TumblerError && e.code === 'PROFILE_NOT_FOUND') return false;
      return true; // present but unreadable or corrupt: still in the way
    }
  };
  if (!o.force && await exists()) throw new TumblerError('PROFILE_EXISTS', `profile "${name}" exists; use --force to replace it or --name to pick another`);
  const skew = b.issuedAtMs - deps.now();
  if (skew > CLOCK_WARN_MS) {
    deps.warn?.(`warning: the local clock is at least ${duration(skew)} behind the server's (the bundle was issued later than the local time); knocks may fail until the clock is set right`);
  }
  const password = await deps.password();
  const key = await deriveDeviceKey(password, b.kdf);
  if (!bundleCheckMatches(key, b)) {
    key.fill(0);
    throw new TumblerError('PASSWORD_WRONG', 'the password does not match this enrollment bundle: run the command again and type it ' +
      'exactly as your admin gave it (if it still fails, this bundle is not the one your admin made: ask for a new one)');
  }
  const profile: Profile = {
    v: 2,
    name,
    user: b.user,
    device: b.device,
    gateways: b.gateways.map((g) => [...g]),
    ...(o.storeKey ? { key: key.toString('base64') } : {}),
    keyCheck: keyCheck(key),
    kdf: { salt: b.kdf.salt.toString('base64'), N: b.kdf.N, r: b.kdf.r, p: b.kdf.p },
    sequence: { ports: [...b.sequence.ports], tags: [...b.sequence.tags] },
    services: { ...b.services },
    clockOffsetMs: 0,
    updatedAt: 0,
  };
  let unlocked = false;
  try {
    await ensurePrivateDir(deps.dir);
    await withProfileLock(deps.dir, name, async () => {
      if (!o.force && await exists()) throw new TumblerError('PROFILE_EXISTS', `profile "${name}" exists; use --force to replace it`);
      await saveProfile(deps.dir, profile, { now: deps.now });
    });
    if (!o.storeKey && deps.unlock) unlocked = await deps.unlock(name, key, profile.kdf);
  } finally {
    key.fill(0);
  }
  return { profile: name, gateways: b.gateways, user: b.user, device: b.device, services: Object.keys(b.services).sort(), keyStored: o.storeKey, unlocked };
}

/** CLI entry. Without --store-key/--no-store-key the key stays off disk when an agent runs (and goes to the agent). */
export async function run(bundleArg: string, o: Omit<EnrollOptions, 'storeKey'> & { readonly storeKey?: boolean }): Promise<void> {
  if (bundleArg === '-' && o.passwordFile === undefined) {
    throw new TumblerError('BAD_ARGUMENT', 'reading the bundle from stdin needs --password-file');
  }
  const text = await bundleText(bundleArg);
  const agent = await import('../agent/client.js');
  const storeKey = o.storeKey ?? !(await agent.agentRunning());
  const r = await enroll(text, { ...o, storeKey }, {
    dir: profileDir(),
    now: Date.now,
    password: () => obtainPassword({ file: o.passwordFile, confirm: true, prompt: 'Password (as given by your admin): ' }),
    warn: (l) => process.stderr.write(`tumbler: ${l}\n`),
    unlock: async (name, key, kdf) => {
      if (!(await agent.agentRunning())) return false;
      await (await import('./unlock.js')).giveKeyToAgent(name, key, kdf, 0);
      return true;
    },
  });
  const keyNote = r.keyStored ? 'key stored in the profile (mode 0600)'
    : r.unlocked ? `key kept off disk, unlocked in the agent (after it stops: tumbler unlock ${r.profile})` : 'key kept off disk (asked for on each open)';
  const where = r.gateways.flat().join(', ');
  process.stdout.write(`enrolled profile "${r.profile}": ${r.user} (device ${r.device}) on ${where}, services ${r.services.join(', ')}; ${keyNote}\n` +
    `open a service with: tumbler open ${r.profile}${r.services.length > 1 && !r.services.includes('ssh') ? ' --service NAME' : ''}\n`);
}

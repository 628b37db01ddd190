/**
 * Per-profile exclusive lock, so two `tumbler open` runs on one profile serialize their
 * read-modify-write. Node has no flock(), so the lock is a file `<dir>/<name>.lock` holding
 * `pid host token`, created atomically with link() (it is never seen half written).
 *
 * A lock whose holder pid is dead (same host) is stale and is broken. Breaking happens under a
 * second, short-lived lock (`<name>.lock.break`), and the stale file is re-read under it before the
 * unlink, so a breaker never removes a lock that a live process has just taken. Waiting is bounded:
 * after `timeoutMs` the call fails with PROFILE_LOCKED.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsc } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TumblerError } from '../../shared/errors.js';
import { PROFILE_NAME_RE } from './schema.js';

export interface LockOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Poll interval while waiting (default 25 ms, jittered). */
  pollMs?: number;
  now?: () => number;
  random?: (n: number) => Buffer;
}

interface LockInfo { pid: number; host: string; token: string }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function parseLock(text: string): LockInfo | null {
  const m = /^(\d+) (\S+) ([0-9a-f]+)\n$/.exec(text);
  return m ? { pid: Number(m[1]), host: m[2]!, token: m[3]! } : null;
}

async function readLock(path: string): Promise<LockInfo | null | 'missing'> {
  try {
    return parseLock(await fsp.readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
}

function isDead(info: LockInfo): boolean {
  if (info.host !== hostname()) return false; // cannot tell: wait for it
  try {
    process.kill(info.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Creates `path` with `content` atomically (link of a private temp file); false if it exists. */
async function createExclusive(path: string, content: string, random: (n: number) => Buffer): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${random(6).toString('hex')}.tmp`;
  const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(content);
    await fh.close();
    await fsp.link(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
  }
}

/** Removes the lock at `path` if it still is the stale `seen` one, under the break lock. */
async function breakStale(path: string, seen: LockInfo, me: string, random: (n: number) => Buffer): Promise<void> {
  const brk = `${path}.break`;
  if (!(await createExclusive(brk, me, random))) {
    // Another breaker is at work; if it died mid-break, clear its break lock for the next round.
    const other = await readLock(brk);
    if (other !== 'missing' && other !== null && isDead(other)) await fsp.rm(brk, { force: true });
    return;
  }
  try {
    const now = await readLock(path);
    if (now !== 'missing' && now !== null && now.token === seen.token && now.pid === seen.pid) await fsp.rm(path, { force: true });
  } finally {
    await fsp.rm(brk, { force: true });
  }
}

/**
 * Runs `fn` while holding the exclusive lock of profile `name` in `dir`; always releases it.
 * Throws PROFILE_LOCKED when the lock stays held by a live process for `timeoutMs`.
 */
export async function withProfileLock<T>(dir: string, name: string, fn: () => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
  if (!PROFILE_NAME_RE.test(name)) throw new TumblerError('PROFILE_NAME_INVALID', 'invalid profile name');
  const now = opts.now ?? Date.now;
  const random = opts.random ?? randomBytes;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const pollMs = opts.pollMs ?? 25;
  const path = join(dir, `${name}.lock`);
  const token = random(8).toString('hex');
  const me = `${process.pid} ${hostname()} ${token}\n`;
  const deadline = now() + timeoutMs;
  for (;;) {
    if (await createExclusive(path, me, random)) break;
    const held = await readLock(path);
    if (held !== 'missing' && held !== null && isDead(held)) await breakStale(path, held, me, random);
    if (now() >= deadline) throw new TumblerError('PROFILE_LOCKED', `profile "${name}" is in use by another tumbler process`);
    if (held !== 'missing') await sleep(pollMs / 2 + (random(1)[0]! / 255) * pollMs);
  }
  try {
    return await fn();
  } finally {
    const held = await readLock(path).catch(() => null);
    if (held !== 'missing' && held !== null && held.token === token) await fsp.rm(path, { force: true });
  }
}

/**
 * Crash-safe file replacement: write a temp file in the same directory (O_EXCL, mode 0600), fsync
 * it, rename it over the target, fsync the directory. A reader (or a crash at any instant) sees
 * the old content or the new, never a torn or missing file. Temp files left by a killed writer are
 * named `.<base>.<pid>.<hex>.tmp` and swept by `sweepStaleTemps` once their pid is gone.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsc } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const TEMP_RE = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0600). */
  mode?: number;
}

/** fsync a directory so a rename in it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const d = await fsp.open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

export async function atomicWriteFile(path: string, data: string | Buffer, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, opts.mode ?? 0o600);
  try {
    try {
      await fh.writeFile(data);
      await fh.chmod(opts.mode ?? 0o600); // the umask may have narrowed it; never widened
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes atomic-write temp files in `dir` whose writer process is gone (only those for `forBase` when given). */
export async function sweepStaleTemps(dir: string, forBase?: string): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    const m = TEMP_RE.exec(n);
    if (!m || (forBase !== undefined && m[1] !== forBase)) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || pidAlive(pid)) continue;
    await fsp.rm(join(dir, n), { force: true });
    removed++;
  }
  return removed;
}

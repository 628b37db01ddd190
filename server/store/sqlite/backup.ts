/**
 * `tumblerd backup FILE`: an online, consistent copy of the SQLite store while the daemon runs,
 * through SQLite's backup API (better-sqlite3 `db.backup`), all pages in one step, so the copy is
 * the database as of one read transaction: the worker keeps committing meanwhile (WAL).
 *
 * The copy is made in a private directory (0700, beside FILE: same file system) that nobody else
 * can plant a link in, checked (a Tumbler database, SQLite's integrity check), made one
 * self-contained file (journal_mode DELETE) with an `admin.backup` audit row saying when, synced,
 * and only then linked to FILE with link(2), which never follows a link and never replaces
 * anything: an existing FILE (or a link there) is refused with ADMIN_OUT_EXISTS. Mode 0600.
 */
import { closeSync, constants, fsyncSync, linkSync, lstatSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { TumblerError } from '../../../shared/errors.js';
import { BACKUP_AUDIT_EVENT, inspectTumblerDatabase, type TumblerDatabase } from './inspect.js';
import type { Db } from './migrate.js';

export interface BackupResult {
  readonly file: string;
  readonly bytes: number;
  readonly database: TumblerDatabase;
}

/** All remaining pages in the next step: one read transaction, no restart when the worker writes. */
const ALL_PAGES = 0x7fffffff;

export async function backupTo(db: Db, file: string, now: () => number = Date.now): Promise<BackupResult> {
  // 1. FILE must not exist, not even as a link; its directory must.
  if (exists(file)) throw new TumblerError('ADMIN_OUT_EXISTS', `${file} already exists; not overwriting it`);
  let dir: string;
  try {
    dir = mkdtempSync(join(dirname(file), `.${basename(file)}.tumblerd-backup-`));
  } catch (e) {
    throw new TumblerError('ADMIN_OUT', `cannot write beside ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    // 2. The copy, in our private directory, born 0600.
    const tmp = join(dir, 'copy.db');
    closeSync(openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
    await db.backup(tmp, { progress: () => ALL_PAGES });
    // 3. Checked, one file, stamped.
    const copy = new Database(tmp, { fileMustExist: true });
    let database: TumblerDatabase;
    try {
      copy.pragma('journal_mode = DELETE');
      const at = now();
      database = { ...inspectTumblerDatabase(copy, 'the copy'), asOfMs: at };
      copy.prepare('INSERT INTO audit (at, event, result, reason) VALUES (?, ?, ?, ?)').run(at, BACKUP_AUDIT_EVENT, 'ok', `copy ${basename(file)}`);
    } finally {
      copy.close();
    }
    fsyncPath(tmp);
    // 4. Into place without following or replacing anything.
    try {
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new TumblerError('ADMIN_OUT_EXISTS', `${file} already exists; not overwriting it`);
      throw new TumblerError('ADMIN_OUT', `cannot create ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    fsyncPath(dirname(file));
    return { file, bytes: statSync(file).size, database };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** fsync a file or a directory (a new name must survive a crash too). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * `tumblerd restore FILE`: put a backup in place of the SQLite store, with the daemon stopped.
 *
 * 1. Refuse while the daemon runs (its pid file) or anything has the database open (/proc).
 * 2. Copy FILE (a regular file, not a link) into the database's directory as the worker account,
 *    check it is a Tumbler database of this program's schema or older (ADMIN_RESTORE_INVALID,
 *    STORE_SCHEMA_NEWER), migrate the copy.
 * 3. Compare it with the database it replaces, when that one is readable (store/sqlite/resync.ts):
 *    devices that knocked or were re-enrolled after the backup get their newer state carried over
 *    (unless --no-resync), so they keep working; what cannot be carried, and every other
 *    difference (devices added or deleted, enablement, services), is reported with the command
 *    that settles it. Without a readable database to compare with, every device of the backup may
 *    be locked out and is listed with its `device reenroll`.
 * 4. When a device is left as the backup had it although it knocked after (--no-resync, a key
 *    collision, an unreadable database), a sequence used after the backup is live again: a knock
 *    captured on it would be fresh until `timestamp_window` after it was made. So the copy goes
 *    into place only once that long has passed since the replaced database was last written
 *    (docs/protocol.md §9a): no knock made before the restore can be accepted after it.
 * 5. Keep the replaced database aside (renamed *.replaced-<time>, never deleted), then rename the
 *    copy into place: both in the same directory, owned by the worker account.
 */
import { closeSync, constants, existsSync, fstatSync, fsyncSync, lstatSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { TumblerError } from '../../shared/errors.js';
import { findAccount, type AccountInfo } from '../account.js';
import type { TumblerConfig } from '../config/types.js';
import { asUser } from '../store/sqlite/as-user.js';
import { inspectTumblerDatabase, type TumblerDatabase } from '../store/sqlite/inspect.js';
import { databaseFiles, migrate, openDatabase, type Db } from '../store/sqlite/migrate.js';
import { fsyncPath } from '../store/sqlite/backup.js';
import { compareStores, resync, snapshotStores, type Comparison, type DeviceRef } from '../store/sqlite/resync.js';
import { openSqliteAsOwner, prepareDirectory } from './database.js';
import { processesHolding } from './in-use.js';
import { isAlive, looksLikeTumblerd, readPidFile } from './stop.js';

export interface RestoreOptions {
  readonly file: string;
  readonly pidFile: string;
  /** Carry over the newer state of devices that moved on after the backup (default true). */
  readonly resync: boolean;
  readonly now?: () => number;
  /** Told before the restore waits for knocks on the replaced database to go stale (step 4). */
  readonly onWait?: (untilMs: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface RestoreReport {
  readonly database: string;
  readonly file: string;
  readonly backup: TumblerDatabase;
  readonly migrated: { readonly from: number; readonly to: number };
  /** Where the replaced database (and its -wal/-shm) now are; empty when there was none. */
  readonly keptAside: string[];
  /** 'compared' with the replaced database; 'none' when there was none; else why it could not be read. */
  readonly compared: 'compared' | 'none' | { readonly unreadable: string };
  readonly comparison: Comparison | null;
  /** Devices whose newer state was carried over: they keep working. */
  readonly carried: DeviceRef[];
  /** Devices locked out: their knocks get no answer until they are re-enrolled. */
  readonly lockedOut: DeviceRef[];
  /** Without a comparison: every device of the backup (those that knocked after it are locked out). */
  readonly maybeLockedOut: DeviceRef[];
  /** When the copy could go into place (step 4), if the restore had to wait for it. */
  readonly heldUntilMs: number | null;
}

export async function restoreDatabase(cfg: TumblerConfig, o: RestoreOptions): Promise<RestoreReport> {
  const now = o.now ?? Date.now;
  if (cfg.store.backend !== 'sqlite') {
    throw new TumblerError('ADMIN_BACKEND', 'restore replaces the SQLite store; restore PostgreSQL with its own tools (pg_restore, or point-in-time recovery from pg_basebackup and WAL archives)');
  }
  const path = cfg.store.path;
  // 1. Nobody uses the database.
  assertStopped(o.pidFile, path);
  const account = findAccount(cfg.user);
  if (!account) throw new TumblerError('ADMIN_NO_WORKER_USER', `worker user "${cfg.user}" does not exist (useradd --system --no-create-home ${cfg.user})`);
  prepareDirectory(dirname(path), account);

  // 2. The backup, copied beside the database as the worker, checked and migrated.
  const tmp = `${path}.restoring-${process.pid}`;
  removeFiles(databaseFiles(tmp));
  copyAsWorker(o.file, tmp, account);
  let restored: Db | null = null;
  try {
    try {
      restored = asUser(account, () => openDatabase(tmp, { now }));
    } catch (e) {
      throw new TumblerError('ADMIN_RESTORE_INVALID', `${o.file} is not a Tumbler database: SQLite cannot open it`, { cause: e });
    }
    const backup = inspectTumblerDatabase(restored, o.file);
    const migrated = asUser(account, () => migrate(restored!, { now }));

    // 3. Compare with what it replaces; carry over what moved on.
    const { compared, comparison, carried, lockedOut } = await compareAndResync(cfg, path, restored, o.resync, now());
    const maybeLockedOut = comparison ? [] : allDevices(restored);
    restored.prepare('INSERT INTO audit (at, event, result, reason) VALUES (?, ?, ?, ?)').run(
      now(), 'admin.restore', 'ok', `from ${basename(o.file)}; ${carried.length} devices resynchronised, ${lockedOut.length + maybeLockedOut.length} to re-enroll`);
    restored.close();
    restored = null;

    // 4. Knocks made on the replaced database stale before a sequence they used can be live again.
    const heldUntilMs = lockedOut.length + maybeLockedOut.length > 0 ? lastWrite(path) + cfg.timestampWindowSec * 1000 + 1000 : null;
    if (heldUntilMs !== null && heldUntilMs > now()) {
      o.onWait?.(heldUntilMs);
      await (o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))))(heldUntilMs - now());
    }

    // 5. The replaced database aside, the copy in place.
    const stamp = new Date(now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const keptAside: string[] = [];
    for (const f of databaseFiles(path)) {
      if (!existsSync(f)) continue;
      const aside = `${path}.replaced-${stamp}${f.slice(path.length)}`;
      renameSync(f, aside);
      keptAside.push(aside);
    }
    renameSync(tmp, path);
    fsyncPath(dirname(path));
    return { database: path, file: o.file, backup, migrated, keptAside, compared, comparison, carried, lockedOut, maybeLockedOut, heldUntilMs };
  } catch (e) {
    restored?.close();
    removeFiles(databaseFiles(tmp));
    throw e;
  }
}

/** ADMIN_DAEMON_RUNNING while the pid file names a live tumblerd or any process has the database open. */
export function assertStopped(pidFile: string, path: string): void {
  let pid: number | null = null;
  try {
    pid = readPidFile(pidFile);
  } catch { /* no pid file: look at who holds the files */ }
  if (pid !== null && isAlive(pid) && looksLikeTumblerd(pid)) {
    throw new TumblerError('ADMIN_DAEMON_RUNNING', `tumblerd runs (pid ${pid}); stop it first (systemctl stop tumblerd, or tumblerd stop)`);
  }
  const holders = processesHolding(databaseFiles(path));
  if (holders.length) {
    const who = holders.map((h) => `pid ${h.pid} (${h.name})`).join(', ');
    throw new TumblerError('ADMIN_DAEMON_RUNNING', `${path} is open in ${who}; stop it first`);
  }
}

async function compareAndResync(cfg: TumblerConfig, path: string, restored: Db, carry: boolean, nowMs: number): Promise<Pick<RestoreReport, 'compared' | 'comparison' | 'carried' | 'lockedOut'>> {
  if (!existsSync(path)) return { compared: 'none', comparison: null, carried: [], lockedOut: [] };
  let replaced: Db | null = null;
  try {
    replaced = await openSqliteAsOwner(cfg, path);
    const stores = snapshotStores(restored, replaced);
    const comparison = compareStores(stores);
    const { carried, failed } = carry ? resync(restored, stores, comparison.movedOn, nowMs) : { carried: [], failed: comparison.movedOn };
    replaced.pragma('wal_checkpoint(TRUNCATE)'); // the replaced file is whole on its own, kept aside
    return { compared: 'compared', comparison, carried, lockedOut: failed };
  } catch (e) {
    const code = e instanceof TumblerError ? e.code : ((e as { code?: unknown }).code as string | undefined) ?? 'UNREADABLE';
    return { compared: { unreadable: code }, comparison: null, carried: [], lockedOut: [] };
  } finally {
    replaced?.close();
  }
}

/** The last write to the database or its -wal (0 when there is none). */
function lastWrite(path: string): number {
  return Math.max(0, ...databaseFiles(path).map((f) => {
    try {
      return statSync(f).mtimeMs;
    } catch {
      return 0;
    }
  }));
}

function allDevices(db: Db): DeviceRef[] {
  return db.prepare('SELECT u.name AS user, d.name AS device FROM devices d JOIN users u ON u.id = d.user_id ORDER BY u.name, d.name').all() as DeviceRef[];
}

/** FILE (a regular file, never through a link) into `to`, created 0600 by the worker account. */
function copyAsWorker(file: string, to: string, account: AccountInfo): void {
  let src: number;
  try {
    src = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new TumblerError('ADMIN_RESTORE_INVALID', `${file} is a symbolic link; give the file itself`);
    throw new TumblerError(code === 'ENOENT' ? 'STORE_NOT_FOUND' : 'ADMIN_RESTORE_INVALID', `cannot open ${file}: ${code ?? 'error'}`);
  }
  try {
    if (!fstatSync(src).isFile()) throw new TumblerError('ADMIN_RESTORE_INVALID', `${file} is not a regular file`);
    const dst = asUser(account, () => openSync(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
    try {
      const buf = Buffer.alloc(1 << 20);
      for (let n = readSync(src, buf); n > 0; n = readSync(src, buf)) {
        for (let off = 0; off < n;) off += writeSync(dst, buf, off, n - off);
      }
      fsyncSync(dst);
    } finally {
      closeSync(dst);
    }
  } finally {
    closeSync(src);
  }
}

function removeFiles(files: readonly string[]): void {
  for (const f of files) {
    try {
      if (!lstatSync(f).isDirectory()) unlinkSync(f);
    } catch { /* absent */ }
  }
}

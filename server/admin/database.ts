/**
 * The admin commands' database handle. They run as root, but the database belongs to the worker's
 * account: SQLite gives -wal/-shm to whoever opens the database first, and a root-owned -shm would
 * lock the unprivileged worker out. So: a new database gets a 0700 directory and files owned by
 * the worker user; an existing one owned by the worker user has its files chowned back right after
 * every open and migration. Loaded lazily: the privileged `run` path never loads SQLite.
 */
import { existsSync, mkdirSync, chownSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { TumblerError } from '../../shared/errors.js';
import type { TumblerConfig } from '../config/types.js';
import { chownDatabaseFiles, migrate, openDatabase, type Db } from '../store/migrate.js';
import { SqliteStore } from '../store/store.js';
import { findAccount, type AccountInfo } from '../account.js';

export interface AdminDatabase {
  readonly db: Db;
  readonly store: SqliteStore;
  readonly migrated: { from: number; to: number };
  close(): void;
}

export function openAdminDatabase(cfg: TumblerConfig, now: () => number = Date.now): AdminDatabase {
  const path = cfg.database;
  const account = findAccount(cfg.user);

  // 1. Who should own the files: the worker, for a new database or one it already owns.
  const existed = existsSync(path);
  if (!existed && !account) {
    throw new TumblerError('ADMIN_NO_WORKER_USER', `worker user "${cfg.user}" does not exist; create it first (useradd --system --no-create-home ${cfg.user})`);
  }
  if (!existed) prepareDirectory(dirname(path), account!);
  const owner: AccountInfo | null = account && (!existed || statSync(path).uid === account.uid) ? account : null;
  const giveBack = (): void => { if (owner) chownDatabaseFiles(path, owner.uid, owner.gid); };

  // 2. Open, hand the files back at once, migrate, hand back again (migration may create -wal).
  const db = openDatabase(path, { now });
  let migrated: { from: number; to: number };
  try {
    giveBack();
    migrated = migrate(db, { now });
    giveBack();
  } catch (e) {
    db.close();
    throw e;
  }
  const store = new SqliteStore(db, { now, random: randomBytes });
  return { db, store, migrated, close: () => db.close() };
}

/** Create the database directory 0700 for the worker; an existing directory is left as it is. */
function prepareDirectory(dir: string, account: AccountInfo): void {
  if (existsSync(dir)) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownSync(dir, account.uid, account.gid);
}

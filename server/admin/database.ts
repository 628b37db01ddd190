/**
 * The admin commands' store. SQLite: the commands run as root, but the database belongs to the
 * worker's account: SQLite gives -wal/-shm to whoever opens the database first, and a root-owned
 * -shm would lock the unprivileged worker out. So a new database gets a 0700 directory, and a new
 * database or one the worker owns is opened and migrated with the worker's identity (files it
 * creates are the worker's; a link in the worker's directory reaches only what the worker could
 * reach); -wal/-shm left root-owned by an older run are handed back first, through O_PATH
 * descriptors that never follow a link. A database owned by someone else is left as it is.
 * PostgreSQL: the URL and password file of the config. Loaded lazily: `run` never loads a store.
 */
import { existsSync, lstatSync, mkdirSync, chownSync } from 'node:fs';
import { dirname } from 'node:path';
import { TumblerError } from '../../shared/errors.js';
import type { TumblerConfig } from '../config/types.js';
import { openStore } from '../store/open.js';
import type { Db } from '../store/sqlite/migrate.js';
import type { Store } from '../store/types.js';
import { findAccount, type AccountInfo } from '../account.js';

export interface AdminDatabase {
  readonly store: Store;
  readonly migrated: { from: number; to: number };
  /** Where the data lives, for messages: the SQLite path or the PostgreSQL URL. */
  readonly where: string;
  close(): Promise<void>;
}

export async function openAdminDatabase(cfg: TumblerConfig, now: () => number = Date.now): Promise<AdminDatabase> {
  const account = findAccount(cfg.user);
  if (cfg.store.backend === 'postgres') {
    const { readPasswordFile } = await import('../store/postgres/password-file.js');
    const password = cfg.store.passwordFile === undefined ? undefined : readPasswordFile(cfg.store.passwordFile, account?.uid ?? 0);
    const { store, migrated } = await openStore(cfg, { now, ...(password !== undefined && { password }) });
    return { store, migrated, where: cfg.store.url, close: () => store.close() };
  }
  const path = cfg.store.path;
  const { chownDatabaseFiles } = await import('../store/sqlite/migrate.js');

  // 1. Who should own the files: the worker, for a new database or one it already owns.
  const existed = existsSync(path);
  if (!existed && !account) {
    throw new TumblerError('ADMIN_NO_WORKER_USER', `worker user "${cfg.user}" does not exist; create it first (useradd --system --no-create-home ${cfg.user})`);
  }
  if (!existed) prepareDirectory(dirname(path), account!);
  const owner = existed ? workerOwning(account, path) : account;

  // 2. Hand back what an older run left root-owned, then open and migrate as the worker.
  if (owner && existed) chownDatabaseFiles(path, owner.uid, owner.gid);
  const { store, migrated } = await openStore(cfg, { now, sqliteUser: owner });
  return { store, migrated, where: path, close: () => store.close() };
}

/**
 * An existing SQLite file opened, NOT migrated, with its owner's identity when that is the worker
 * account (as openAdminDatabase does: whatever SQLite creates beside it stays the worker's), for
 * backup and restore, which take a database as it is. STORE_NOT_FOUND when there is none.
 */
export async function openSqliteAsOwner(cfg: TumblerConfig, path: string): Promise<Db> {
  const { openDatabase } = await import('../store/sqlite/migrate.js');
  const { asUser } = await import('../store/sqlite/as-user.js');
  if (!existsSync(path)) throw new TumblerError('STORE_NOT_FOUND', `no database at ${path}`);
  return asUser(workerOwning(findAccount(cfg.user), path), () => openDatabase(path));
}

/** The worker account when it owns the (existing) file at `path`, else null. */
function workerOwning(account: AccountInfo | null, path: string): AccountInfo | null {
  return account && lstatSync(path).uid === account.uid ? account : null;
}

/**
 * Create the database directory 0700 for the worker; missing parents 0755 (the worker must pass
 * through them). An existing directory is left as it is.
 */
export function prepareDirectory(dir: string, account: AccountInfo): void {
  if (existsSync(dir)) return;
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, account.uid, account.gid);
}

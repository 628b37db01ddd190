/**
 * openStore(config): the configured backend behind the store contract, migrated to the code's
 * schema (the counterpart of createFirewall). SQLite: the file at [store] path; PostgreSQL: a pool
 * on [store] url with the password read beforehand (postgres/password-file.ts) or none (peer).
 */
import { TumblerError } from '../../shared/errors.js';
import type { TumblerConfig } from '../config/types.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  readonly now?: () => number;
  /** The PostgreSQL password, read from password_file before any privilege drop. */
  readonly password?: string;
  /** Accepts per group commit at most (1 = one commit per grant: the benchmark's baseline). */
  readonly maxBatch?: number;
  /** SQLite only: open and migrate with this identity (admin commands: the worker account's; see sqlite/as-user.ts). */
  readonly sqliteUser?: { readonly uid: number; readonly gid: number } | null;
}

export interface OpenedStore {
  readonly store: Store;
  readonly migrated: { from: number; to: number };
}

export async function openStore(config: TumblerConfig, o: OpenStoreOptions = {}): Promise<OpenedStore> {
  const gateway = config.fleet.gateway;
  const now = o.now ?? Date.now;
  if (config.store.backend === 'sqlite') {
    const { openDatabase, migrate } = await import('./sqlite/migrate.js');
    const { SqliteStore } = await import('./sqlite/store.js');
    const { asUser } = await import('./sqlite/as-user.js');
    const path = config.store.path;
    const { db, migrated } = asUser(o.sqliteUser ?? null, () => {
      const db = openDatabase(path, { now });
      try {
        return { db, migrated: migrate(db, { now }) };
      } catch (e) {
        db.close();
        throw e;
      }
    });
    return { store: new SqliteStore(db, { now, gateway, ...(o.maxBatch !== undefined && { maxBatch: o.maxBatch }) }), migrated };
  }
  const pg = (await import('pg')).default;
  const { PostgresStore, poolConfig } = await import('./postgres/store.js');
  const { migratePostgres } = await import('./postgres/migrate.js');
  const cfg = poolConfig(config.store.url, o.password, gateway);
  const pool = new pg.Pool(cfg);
  const store = new PostgresStore(pool, cfg, { gateway, now, ...(o.maxBatch !== undefined && { maxBatch: o.maxBatch }) });
  try {
    const migrated = await migratePostgres(pool, { now });
    return { store, migrated };
  } catch (e) {
    await store.close().catch(() => undefined);
    if (e instanceof TumblerError) throw e;
    throw new TumblerError('STORE_UNAVAILABLE', `PostgreSQL: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Applying the numbered forward-only migrations in `<repo>/migrations/postgres` to a PostgreSQL
 * database, one transaction each, under a transaction-scoped advisory lock (two gateways or an
 * admin starting at once apply each migration once). The version is the highest row of
 * schema_history. A database newer than the code is refused.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { TumblerError } from '../../../shared/errors.js';
import { findMigrationsDir, listMigrations, newerSchema, reason } from '../migrations.js';

/** pg_advisory_xact_lock key for migrations ("tumbler" in ASCII, as a number). */
const MIGRATION_LOCK = 0x74756d626c6572;

async function currentVersion(c: pg.ClientBase): Promise<number> {
  const t = await c.query<{ exists: boolean }>(`SELECT to_regclass('schema_history') IS NOT NULL AS exists`);
  if (!t.rows[0]!.exists) return 0;
  const r = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_history');
  return r.rows[0]!.v ?? 0;
}

export async function migratePostgres(pool: pg.Pool, opts: { dir?: string; now?: () => number } = {}): Promise<{ from: number; to: number }> {
  const migrations = listMigrations(opts.dir ?? findMigrationsDir('postgres'));
  const now = opts.now ?? Date.now;
  const c = await pool.connect();
  try {
    const from = await currentVersion(c);
    if (from > migrations.length) throw newerSchema(from, migrations.length);
    for (const m of migrations.slice(from)) {
      const sql = readFileSync(m.file, 'utf8');
      try {
        await c.query('BEGIN');
        await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        const current = await currentVersion(c); // re-read under the lock: someone may have migrated meanwhile
        if (current >= m.version) {
          await c.query('COMMIT');
          continue;
        }
        if (current !== m.version - 1) throw new TumblerError('STORE_MIGRATION', `database at version ${current}, cannot apply ${m.version}`);
        await c.query(sql);
        await c.query('INSERT INTO schema_history (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, now()]);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        if (e instanceof TumblerError) throw e;
        throw new TumblerError('STORE_MIGRATION', `migration ${m.version} (${m.name}) failed: ${reason(e)}`, { cause: e });
      }
    }
    return { from, to: await currentVersion(c) };
  } finally {
    c.release();
  }
}

/**
 * `tumblerd store copy --to <postgres url>`: a single-host SQLite store moved into PostgreSQL with
 * nothing re-enrolled. Users, devices (keys), every sequence in its state (live, consumed with its
 * stored reply — a client still waiting on a lost reply can recover — and retired), grants and the
 * audit trail keep their ids; grants and audit rows written before the fleet get this host's
 * gateway name. The target is migrated first and must hold no data (ADMIN_COPY_NOT_EMPTY); the copy
 * is one transaction, so a failure leaves the target empty.
 */
import type pg from 'pg';
import { TumblerError } from '../../shared/errors.js';
import type { Db } from './sqlite/migrate.js';

const TABLES = ['users', 'devices', 'sequences', 'grants', 'audit'] as const;
type Table = (typeof TABLES)[number];
const CHUNK = 2_000;

type CopyCounts = Record<Table, number>;

/** A SQLite row as PostgreSQL's json_populate_recordset reads it (bytea as \x hex, flags as booleans, JSON as JSON). */
function convert(table: Table, r: Record<string, unknown>, gateway: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) out[k] = Buffer.isBuffer(v) ? `\\x${v.toString('hex')}` : v;
  if (table === 'users') {
    out.enabled = r.enabled === 1;
    out.services = JSON.parse(r.services as string);
  } else if (table === 'devices') {
    out.enabled = r.enabled === 1;
    out.kdf = JSON.parse(r.kdf as string);
  } else if (table === 'sequences') {
    delete out.reply_meta; // never read; not carried over
  } else {
    out.gateway = r.gateway ?? gateway;
  }
  return out;
}

export async function copyToPostgres(source: Db, target: pg.Pool, gateway: string): Promise<CopyCounts> {
  const c = await target.connect();
  try {
    await c.query('BEGIN');
    for (const t of TABLES) {
      const n = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`);
      if (n.rows[0]!.n > 0) throw new TumblerError('ADMIN_COPY_NOT_EMPTY', `the target already holds ${t}; store copy only fills an empty database`);
    }
    const counts = {} as CopyCounts;
    for (const t of TABLES) {
      const rows = source.prepare(`SELECT * FROM ${t} ORDER BY id`).all() as Array<Record<string, unknown>>;
      for (let i = 0; i < rows.length; i += CHUNK) {
        const chunk = rows.slice(i, i + CHUNK).map((r) => convert(t, r, gateway));
        await c.query(`INSERT INTO ${t} SELECT * FROM jsonb_populate_recordset(NULL::${t}, $1::jsonb)`, [JSON.stringify(chunk)]);
      }
      // Ids were copied: new rows continue after the highest.
      await c.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), coalesce((SELECT max(id) FROM ${t}), 0) + 1, false)`);
      counts[t] = rows.length;
    }
    await c.query('COMMIT');
    return counts;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
}

/**
 * Is this SQLite file a Tumbler store, and of which schema? For `tumblerd restore`: the file must
 * pass SQLite's integrity check, carry PRAGMA user_version 1..N with a schema_history row for every
 * version up to it, and have the tables and columns every Tumbler schema has. A newer schema than
 * this program's is STORE_SCHEMA_NEWER; anything else is ADMIN_RESTORE_INVALID. Also when the
 * copy was made: the `admin.backup` audit row `tumblerd backup` writes into its copies, or else the
 * newest time the store recorded.
 */
import { TumblerError } from '../../../shared/errors.js';
import { newerSchema } from '../migrations.js';
import { codeSchemaVersion, type Db } from './migrate.js';

/** Tables and columns present since schema 1 (what restore and resync read). */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  schema_history: ['version', 'name', 'applied_at'],
  users: ['id', 'name', 'enabled', 'services', 'created_at'],
  devices: ['id', 'user_id', 'name', 'key', 'kdf', 'enabled', 'created_at'],
  sequences: ['id', 'device_id', 'seq_key', 'parent_id', 'state', 'issued_at', 'consumed_at', 'retired_at', 'last_ts', 'last_isns', 'last_address', 'reply'],
  grants: ['id', 'device_id', 'family', 'address', 'port', 'service', 'opened_at', 'expires_at', 'closed_at'],
  audit: ['id', 'at', 'event', 'result'],
};

/** The audit event `tumblerd backup` writes into the copy it makes. */
export const BACKUP_AUDIT_EVENT = 'admin.backup';

export interface TumblerDatabase {
  readonly schema: number;
  /** When the copy was made (its admin.backup row), else the newest time it recorded; null when empty. */
  readonly asOfMs: number | null;
  readonly users: number;
  readonly devices: number;
}

export function inspectTumblerDatabase(db: Db, what: string, codeVersion: number = codeSchemaVersion()): TumblerDatabase {
  const invalid = (why: string): never => {
    throw new TumblerError('ADMIN_RESTORE_INVALID', `${what} is not a Tumbler database: ${why}`);
  };
  let check: unknown;
  try {
    check = db.pragma('quick_check', { simple: true });
  } catch {
    return invalid('SQLite cannot read it');
  }
  if (check !== 'ok') invalid('SQLite\'s integrity check fails');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > codeVersion) throw newerSchema(version, codeVersion);
  if (version < 1) invalid('it has no Tumbler schema version');
  for (const [table, columns] of Object.entries(REQUIRED)) {
    const have = new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[]));
    const missing = columns.filter((c) => !have.has(c));
    if (missing.length) invalid(`table ${table} ${have.size ? `lacks ${missing.join(', ')}` : 'is missing'}`);
  }
  const history = db.prepare('SELECT version FROM schema_history ORDER BY version').pluck().all() as number[];
  if (history.length !== version || history.some((v, i) => v !== i + 1)) invalid('its schema history does not match its version');
  const backupAt = db.prepare('SELECT max(at) FROM audit WHERE event = ?').pluck().get(BACKUP_AUDIT_EVENT) as number | null;
  const newest = db.prepare(`SELECT max(t) FROM (SELECT max(at) AS t FROM audit UNION ALL SELECT max(issued_at) FROM sequences
    UNION ALL SELECT max(consumed_at) FROM sequences UNION ALL SELECT max(opened_at) FROM grants)`).pluck().get() as number | null;
  return {
    schema: version,
    asOfMs: backupAt ?? newest,
    users: db.prepare('SELECT count(*) FROM users').pluck().get() as number,
    devices: db.prepare('SELECT count(*) FROM devices').pluck().get() as number,
  };
}

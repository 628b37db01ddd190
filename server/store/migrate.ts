/**
 * Opening the SQLite database (mode 0600, WAL, synchronous=FULL, foreign keys, busy timeout) and
 * applying the numbered forward-only migrations in `<repo>/migrations` (`NNN_name.sql`), one
 * transaction each, tracked by `PRAGMA user_version`. A database newer than the code is refused.
 */
import { chmodSync, chownSync, closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, parse as parsePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { TumblerError } from '../../shared/errors.js';

export type Db = Database.Database;

export interface OpenOptions {
  readonly readonly?: boolean;
  /** Clock (ms) used by `migrate` to stamp schema_history rows. */
  readonly now?: () => number;
}

export interface MigrateOptions {
  /** Directory of `NNN_name.sql` files; defaults to `<repo>/migrations`. */
  readonly dir?: string;
  readonly now?: () => number;
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly file: string;
}

const FILE_MODE = 0o600;
const BUSY_TIMEOUT_MS = 2000;
const MIGRATION_FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;
const clocks = new WeakMap<Db, () => number>();

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err && typeof err.message === 'string' ? (err.code ? `${err.code}: ${err.message}` : err.message) : String(e);
}

/** The database file and its WAL companions. */
export function databaseFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/** Tighten the files we own to 0600; files owned by someone else are left alone (EPERM). */
function restrictModes(path: string): void {
  for (const f of databaseFiles(path)) {
    try {
      chmodSync(f, FILE_MODE);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw e;
    }
  }
}

/**
 * chown the database, -wal and -shm (when present) to the daemon's account, so an admin command
 * run as root leaves nothing the unprivileged worker cannot open.
 */
export function chownDatabaseFiles(path: string, uid: number, gid: number): void {
  for (const f of databaseFiles(path)) {
    try {
      chownSync(f, uid, gid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new TumblerError('STORE_OPEN', `cannot chown ${f}: ${reason(e)}`, { cause: e });
      }
    }
  }
}

/** Open (creating it 0600 when missing) and configure the database. Errors → STORE_OPEN. */
export function openDatabase(path: string, opts: OpenOptions = {}): Db {
  const ro = opts.readonly === true;
  let db: Db | undefined;
  try {
    if (!ro && path !== ':memory:') {
      // Create the file ourselves so it is born 0600 (SQLite gives -wal/-shm the same mode).
      try {
        closeSync(openSync(path, 'wx', FILE_MODE));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    db = new Database(path, { readonly: ro, fileMustExist: true });
    if (!ro) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Touch the schema: a file that is not a database fails here rather than later.
    db.pragma('user_version', { simple: true });
    if (!ro && path !== ':memory:') restrictModes(path);
  } catch (e) {
    try {
      db?.close();
    } catch {
      // already failing; the open error is the one to report
    }
    throw new TumblerError('STORE_OPEN', `cannot open database ${path}: ${reason(e)}`, { cause: e });
  }
  if (opts.now) clocks.set(db, opts.now);
  return db;
}

/** `<repo>/migrations`, found by walking up from this file (works from source and from dist/). */
export function findMigrationsDir(start: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(candidate, '001_initial.sql'))) return candidate;
    const up = dirname(dir);
    if (up === dir || dir === parsePath(dir).root) {
      throw new TumblerError('STORE_MIGRATION', `no migrations directory (with 001_initial.sql) above ${start}`);
    }
    dir = up;
  }
}

/** The migration files in order; versions must run 1, 2, 3, ... without gaps or duplicates. */
export function listMigrations(dir: string = findMigrationsDir()): Migration[] {
  const found: Migration[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.sql')) continue;
    const m = MIGRATION_FILE.exec(f);
    if (!m) throw new TumblerError('STORE_MIGRATION', `bad migration file name ${f} (want NNN_name.sql)`);
    found.push({ version: Number(m[1]), name: m[2]!, file: join(dir, f) });
  }
  found.sort((a, b) => a.version - b.version);
  found.forEach((m, i) => {
    if (m.version !== i + 1) throw new TumblerError('STORE_MIGRATION', `migrations must be numbered 001, 002, ... without gaps (at ${m.version})`);
  });
  return found;
}

/** Current schema version of the code (the highest migration). */
export function codeSchemaVersion(dir?: string): number {
  return listMigrations(dir).length;
}

/** Apply pending migrations, each in its own transaction. Returns the versions before and after. */
export function migrate(db: Db, opts: MigrateOptions = {}): { from: number; to: number } {
  const migrations = listMigrations(opts.dir ?? findMigrationsDir());
  const now = opts.now ?? clocks.get(db) ?? Date.now;
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > migrations.length) {
    throw new TumblerError('STORE_SCHEMA_NEWER', `database schema version ${from} is newer than this program's ${migrations.length}; upgrade tumbler`);
  }
  for (const m of migrations.slice(from)) {
    const sql = readFileSync(m.file, 'utf8');
    const apply = db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      const current = db.pragma('user_version', { simple: true }) as number;
      if (current >= m.version) return;
      if (current !== m.version - 1) throw new TumblerError('STORE_MIGRATION', `database at version ${current}, cannot apply ${m.version}`);
      db.exec(sql);
      db.prepare('INSERT INTO schema_history (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, now());
      db.pragma(`user_version = ${m.version}`);
    });
    try {
      apply.immediate();
    } catch (e) {
      if (e instanceof TumblerError) throw e;
      throw new TumblerError('STORE_MIGRATION', `migration ${m.version} (${m.name}) failed: ${reason(e)}`, { cause: e });
    }
  }
  return { from, to: db.pragma('user_version', { simple: true }) as number };
}

/**
 * Opening the SQLite database (mode 0600, WAL, synchronous=FULL, foreign keys, busy timeout) and
 * applying the numbered forward-only migrations in `<repo>/migrations/sqlite` (`NNN_name.sql`), one
 * transaction each, tracked by `PRAGMA user_version`. A database newer than the code is refused.
 * The files may sit in a directory the worker account controls: they are never followed through a
 * symlink, and their mode and owner are changed only through O_PATH | O_NOFOLLOW descriptors.
 */
import { chmodSync, chownSync, closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import Database from 'better-sqlite3';
import { TumblerError } from '../../../shared/errors.js';
import { findMigrationsDir, listMigrations, newerSchema, reason } from '../migrations.js';

export type Db = Database.Database;

export interface OpenOptions {
  readonly readonly?: boolean;
  /** Clock (ms) used by `migrate` to stamp schema_history rows. */
  readonly now?: () => number;
}

export interface MigrateOptions {
  /** Directory of `NNN_name.sql` files; defaults to `<repo>/migrations/sqlite`. */
  readonly dir?: string;
  readonly now?: () => number;
}

const FILE_MODE = 0o600;
const BUSY_TIMEOUT_MS = 2000;
const clocks = new WeakMap<Db, () => number>();

/** The database file and its WAL companions. */
export function databaseFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

/** STORE_UNSAFE_FILE unless `st` (of database file `f`) is a regular file, not a symlink. */
function assertRegularFile(f: string, st: Stats): void {
  const why = st.isSymbolicLink() ? 'it is a symbolic link' : st.isFile() ? null : 'it is not a regular file';
  if (why) throw new TumblerError('STORE_UNSAFE_FILE', `refusing ${f}: ${why} (the database and its -wal/-shm must be regular files, not symlinks)`);
}

/** Every database file that exists is a regular file, not a symlink (checked before SQLite opens them). */
function checkDatabaseFiles(path: string): void {
  for (const f of databaseFiles(path)) {
    let st;
    try {
      st = lstatSync(f);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    assertRegularFile(f, st);
  }
}

/** Linux open(2) O_PATH (not in Node's fs.constants): a handle to the inode itself, no read or write. */
const O_PATH = 0o10000000;

/**
 * Apply `change` to each existing database file, named by a descriptor opened with O_PATH |
 * O_NOFOLLOW (a symlink yields the link itself, refused) and checked to be a regular file; the
 * change goes through /proc/self/fd/N, i.e. to that inode and no other. O_PATH matters: closing an
 * ordinary descriptor of the database would drop every POSIX lock this process holds on it,
 * SQLite's included (an open connection would then lose its view of the WAL); an O_PATH one does not.
 */
function onEachFile(path: string, change: (fdPath: string, f: string) => void): void {
  for (const f of databaseFiles(path)) {
    let fd: number;
    try {
      fd = openSync(f, O_PATH | constants.O_NOFOLLOW);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new TumblerError('STORE_OPEN', `cannot open ${f}: ${reason(e)}`, { cause: e });
    }
    try {
      assertRegularFile(f, fstatSync(fd));
      change(`/proc/self/fd/${fd}`, f);
    } finally {
      closeSync(fd);
    }
  }
}

/** Tighten the files we own to 0600; files owned by someone else are left alone (EPERM). */
function restrictModes(path: string): void {
  onEachFile(path, (fdPath) => {
    try {
      chmodSync(fdPath, FILE_MODE);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    }
  });
}

/**
 * chown the database, -wal and -shm (when present) to the daemon's account, so an admin command
 * run as root leaves nothing the unprivileged worker cannot open.
 */
export function chownDatabaseFiles(path: string, uid: number, gid: number): void {
  onEachFile(path, (fdPath, f) => {
    try {
      chownSync(fdPath, uid, gid);
    } catch (e) {
      throw new TumblerError('STORE_OPEN', `cannot chown ${f}: ${reason(e)}`, { cause: e });
    }
  });
}

/** Open (creating it 0600 when missing) and configure the database. Errors → STORE_OPEN / STORE_UNSAFE_FILE. */
export function openDatabase(path: string, opts: OpenOptions = {}): Db {
  const ro = opts.readonly === true;
  let db: Db | undefined;
  try {
    if (path !== ':memory:') checkDatabaseFiles(path);
    if (!ro && path !== ':memory:') {
      // Create the file ourselves so it is born 0600 (SQLite gives -wal/-shm the same mode).
      try {
        closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, FILE_MODE));
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
    if (e instanceof TumblerError && e.code === 'STORE_UNSAFE_FILE') throw e;
    throw new TumblerError('STORE_OPEN', `cannot open database ${path}: ${reason(e)}`, { cause: e });
  }
  if (opts.now) clocks.set(db, opts.now);
  return db;
}

/** Current schema version of the code (the highest migration). */
export function codeSchemaVersion(dir: string = findMigrationsDir('sqlite')): number {
  return listMigrations(dir).length;
}

/** Apply pending migrations, each in its own transaction. Returns the versions before and after. */
export function migrate(db: Db, opts: MigrateOptions = {}): { from: number; to: number } {
  const migrations = listMigrations(opts.dir ?? findMigrationsDir('sqlite'));
  const now = opts.now ?? clocks.get(db) ?? Date.now;
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > migrations.length) throw newerSchema(from, migrations.length);
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

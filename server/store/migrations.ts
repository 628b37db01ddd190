/**
 * The numbered, forward-only schema migrations of each backend: `<repo>/migrations/<backend>/NNN_name.sql`,
 * versions 1, 2, 3, ... without gaps. Each backend's runner applies the pending ones, one transaction
 * each, and refuses a database newer than the code.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, parse as parsePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TumblerError } from '../../shared/errors.js';
import type { StoreBackend } from '../config/types.js';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly file: string;
}

const MIGRATION_FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** `<repo>/migrations/<backend>`, found by walking up from this file (works from source and dist/). */
export function findMigrationsDir(backend: StoreBackend, start: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'migrations', backend);
    if (existsSync(join(candidate, '001_initial.sql'))) return candidate;
    const up = dirname(dir);
    if (up === dir || dir === parsePath(dir).root) {
      throw new TumblerError('STORE_MIGRATION', `no migrations/${backend} directory (with 001_initial.sql) above ${start}`);
    }
    dir = up;
  }
}

/** The migration files in order; versions must run 1, 2, 3, ... without gaps or duplicates. */
export function listMigrations(dir: string): Migration[] {
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

export function newerSchema(from: number, code: number): TumblerError {
  return new TumblerError('STORE_SCHEMA_NEWER', `database schema version ${from} is newer than this program's ${code}; upgrade tumbler`);
}

export function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err && typeof err.message === 'string' ? (err.code ? `${err.code}: ${err.message}` : err.message) : String(e);
}

/**
 * `tumblerd doctor`: the database's ownership and permissions. The worker opens it after dropping
 * to its account, so the directory and every file (db, -wal, -shm) must be that account's; the db
 * and -wal hold device keys, so nobody else may read them (0600 files, 0700 directory).
 */
import { statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { isTumblerError } from '../../shared/errors.js';
import type { AccountInfo } from '../account.js';
import type { Check } from './doctor-types.js';

const mode = (s: Stats): string => (s.mode & 0o7777).toString(8).padStart(4, '0');

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

export function databaseChecks(database: string, account: AccountInfo | null): Check[] {
  const checks: Check[] = [];
  const dir = dirname(database);
  const owner = account ? `${account.name} (uid ${account.uid})` : 'the worker user';
  const fixDir = account ? `chown ${account.name}: ${dir} && chmod 0700 ${dir}` : undefined;

  // 1. The directory: the worker creates -wal/-shm in it.
  const d = statOrNull(dir);
  if (!d) {
    checks.push({ name: 'database-dir', status: 'warn', detail: `${dir} does not exist yet`, hint: 'tumblerd migrate creates it (owned by the worker user, mode 0700)' });
    return checks;
  }
  if (!d.isDirectory()) {
    checks.push({ name: 'database-dir', status: 'fail', detail: `${dir} is not a directory` });
    return checks;
  }
  const dirProblems: string[] = [];
  let dirStatus: Check['status'] = 'ok';
  if (account && d.uid !== account.uid) { dirProblems.push(`owned by uid ${d.uid}, not ${owner}`); dirStatus = 'fail'; }
  if (d.mode & 0o022) { dirProblems.push(`mode ${mode(d)} is writable by others`); dirStatus = 'fail'; }
  else if (d.mode & 0o055) { dirProblems.push(`mode ${mode(d)} is not 0700`); if (dirStatus === 'ok') dirStatus = 'warn'; }
  checks.push({
    name: 'database-dir',
    status: dirStatus,
    detail: dirProblems.length ? `${dir}: ${dirProblems.join('; ')}` : `${dir} owned by ${owner}, mode ${mode(d)}`,
    ...(dirProblems.length && fixDir ? { hint: fixDir } : {}),
  });

  // 2. The database and its WAL companions.
  const f = statOrNull(database);
  if (!f) {
    checks.push({ name: 'database-file', status: 'warn', detail: `${database} does not exist yet`, hint: 'run tumblerd migrate' });
    return checks;
  }
  for (const [name, path, required] of [['database-file', database, true], ['database-wal', `${database}-wal`, false], ['database-shm', `${database}-shm`, false]] as const) {
    const s = name === 'database-file' ? f : statOrNull(path);
    if (!s) {
      if (!required) checks.push({ name, status: 'ok', detail: `${path} absent (created by whoever opens the database first)` });
      continue;
    }
    const problems: string[] = [];
    if (!s.isFile()) problems.push('not a regular file');
    if (account && s.uid !== account.uid) problems.push(`owned by uid ${s.uid}, not ${owner}: the worker cannot write it`);
    if (s.mode & 0o077) problems.push(`mode ${mode(s)} lets others read it (it holds device keys); want 0600`);
    checks.push({
      name,
      status: problems.length ? 'fail' : 'ok',
      detail: problems.length ? `${path}: ${problems.join('; ')}` : `${path} owned by ${owner}, mode ${mode(s)}`,
      ...(problems.length && account ? { hint: `chown ${account.name}: ${path} && chmod 0600 ${path}` } : {}),
    });
  }
  return checks;
}

/** PostgreSQL: the password file, when there is one, is what the worker will accept (peer auth needs none). */
export async function passwordFileChecks(file: string | undefined, account: AccountInfo | null): Promise<Check[]> {
  if (file === undefined) return [{ name: 'store-password', status: 'ok', detail: 'no password_file: peer (or .pgpass) authentication' }];
  const { readPasswordFile } = await import('../store/postgres/password-file.js'); // not loaded by `run`
  try {
    readPasswordFile(file, account?.uid ?? 0);
    return [{ name: 'store-password', status: 'ok', detail: `${file}: a regular file, mode 0600/0400, owned by root or the worker` }];
  } catch (e) {
    return [{ name: 'store-password', status: 'fail', detail: isTumblerError(e) ? e.message : String(e), hint: `chown root: ${file} && chmod 0600 ${file}` }];
  }
}

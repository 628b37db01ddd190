/**
 * The admin commands open the worker's SQLite database with the worker's identity
 * (server/store/sqlite/as-user.ts): whatever path SQLite opens, it opens with the worker's rights,
 * so a link swapped in after the admin's checks reaches nothing the worker could not reach; what
 * SQLite creates belongs to the worker; and root is root again afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isTumblerError } from '../../../../shared/errors.js';
import { asUser } from '../../../../server/store/sqlite/as-user.js';
import { migrate, openDatabase } from '../../../../server/store/sqlite/migrate.js';
import { tmpDir } from './fixtures/seed.js';

const NOBODY = { uid: 65534, gid: 65534 };

test('as the worker: a root-only database cannot be opened, new files belong to the worker, root comes back', { skip: process.getuid?.() !== 0 && 'needs root' }, (t) => {
  const groups = process.getgroups?.();
  const dir = tmpDir(t);
  chmodSync(dir, 0o755);
  const rootOnly = join(dir, 'root.db');
  const db = openDatabase(rootOnly);
  migrate(db);
  db.close();
  assert.throws(() => asUser(NOBODY, () => openDatabase(rootOnly)), (e: unknown) => isTumblerError(e, 'STORE_OPEN') && /EACCES|SQLITE_CANTOPEN|unable to open/i.test(e.message));
  assert.equal(process.geteuid?.(), 0);
  assert.equal(process.getegid?.(), 0);

  const own = join(dir, 'worker');
  chmodSync(dir, 0o777); // a directory the worker may create files in
  const made = asUser(NOBODY, () => { const d = openDatabase(`${own}.db`); migrate(d); return d; });
  for (const f of [`${own}.db`, `${own}.db-wal`, `${own}.db-shm`]) assert.equal(statSync(f).uid, 65534, f);
  made.close();
  assert.equal(process.geteuid?.(), 0);
  assert.deepEqual(process.getgroups?.(), groups, 'supplementary groups restored');
});

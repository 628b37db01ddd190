/** The store contract (contract.ts) on the SQLite backend: a fresh file per case, one SqliteStore per gateway. */
import { join } from 'node:path';
import { migrate, openDatabase } from '../../../../server/store/sqlite/migrate.js';
import { SqliteStore } from '../../../../server/store/sqlite/store.js';
import { storeContract } from './contract.js';
import { tmpDir } from './fixtures/seed.js';

storeContract('sqlite', {
  async fresh(t, clock) {
    const path = join(tmpDir(t), 'tumbler.db');
    const db = openDatabase(path);
    migrate(db);
    db.close();
    return {
      async open(gateway, o = {}) {
        return new SqliteStore(openDatabase(path), { now: () => clock.now, gateway, pollMs: 50, ...o });
      },
    };
  },
});

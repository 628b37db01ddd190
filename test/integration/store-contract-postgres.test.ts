/**
 * The store contract (test/unit/server/store/contract.ts) on a real PostgreSQL: one throwaway
 * cluster for the file (Unix socket in a temporary directory), a fresh database per case, one
 * PostgresStore per gateway. Root only (the cluster runs as the postgres account).
 */
import { after, before } from 'node:test';
import pg from 'pg';
import { migratePostgres } from '../../server/store/postgres/migrate.js';
import { PostgresStore, poolConfig } from '../../server/store/postgres/store.js';
import { havePostgres, TestPostgres } from '../helpers/postgres.js';
import { storeContract } from '../unit/server/store/contract.js';

let cluster: TestPostgres | null = null;
before(() => { if (havePostgres) cluster = TestPostgres.start({ fsync: false }); });
after(() => cluster?.stop());

if (havePostgres) {
  storeContract('postgres', {
    async fresh(_t, clock) {
      const url = cluster!.createDatabase();
      const pool = new pg.Pool(poolConfig(url, undefined, 'migrate'));
      await migratePostgres(pool);
      await pool.end();
      return {
        async open(gateway, o = {}) {
          const cfg = poolConfig(url, undefined, gateway);
          return new PostgresStore(new pg.Pool(cfg), cfg, { gateway, now: () => clock.now, ...o });
        },
      };
    },
  });
}

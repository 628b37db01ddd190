/**
 * Bulk enrollment through the real store: seedDb for any SQLite database (bench/store.ts), and
 * for the scale figure seedDevices: `devices` extra devices (random keys and sequences) added
 * to the World's database in one transaction, before the daemon starts, through the real store.
 * Returns the devices (key, first sequence) and the mean time of 10,000 sequence-key lookups (µs),
 * measured on the seeded database. Safe while the daemon runs (WAL; the worker sees the change).
 */
import { chownSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { sequenceKey, type KnockRange, type Sequence } from '../../shared/protocol/sequence.js';
import { migrate, openDatabase, type Db } from '../../server/store/sqlite/migrate.js';
import { SqliteEngine } from '../../server/store/sqlite/engine.js';
import { KNOCK_RANGE, WORKER_USER, type World } from '../../test/e2e/world.js';
import { distinctSequences } from '../../test/unit/server/store/fixtures/seed.js';
import { spawnSync } from 'node:child_process';

export interface SeededDevice { key: Buffer; sequence: Sequence }

/** `devices` devices (100 per user `<prefix><n>`, random keys and distinct sequences in `range`) in one transaction on `db`. */
export function seedDb(db: Db, devices: number, o: { prefix: string; range: KnockRange; auditEvent: string }): { store: SqliteEngine; devices: SeededDevice[] } {
  const store = new SqliteEngine(db);
  const seeded: SeededDevice[] = [];
  const draw = distinctSequences(o.range, randomBytes);
  const perUser = 100;
  db.transaction(() => {
    for (let i = 0; i < devices; i++) {
      if (i % perUser === 0) store.addUser(`${o.prefix}${i / perUser}`, ['ssh']);
      const d = { key: randomBytes(16), sequence: draw() };
      seeded.push(d);
      store.enrollDevice({
        user: `${o.prefix}${Math.floor(i / perUser)}`, device: `d${i}`, mode: 'add', key: d.key, kdf: { salt: randomBytes(16), N: 1 << 15, r: 8, p: 1 },
        first: d.sequence, audit: { event: o.auditEvent, result: 'ok' },
      });
    }
  })();
  return { store, devices: seeded };
}

export function seedDevices(w: World, devices: number, prefix = 'bulk'): { lookupUs: number; devices: SeededDevice[] } {
  const db = openDatabase(w.dbPath);
  migrate(db);
  const { store, devices: seeded } = seedDb(db, devices, { prefix, range: KNOCK_RANGE, auditEvent: 'admin.device.add' });
  const probes = 10_000;
  const t0 = performance.now();
  for (let i = 0; i < probes && seeded.length; i++) store.findByKey(sequenceKey(seeded[(i * 7919) % seeded.length]!.sequence));
  const lookupUs = ((performance.now() - t0) * 1000) / probes;
  db.close();
  // Written as root: hand every database file back to the worker's account.
  const uid = Number(spawnSync('id', ['-u', WORKER_USER], { encoding: 'utf8' }).stdout);
  const gid = Number(spawnSync('id', ['-g', WORKER_USER], { encoding: 'utf8' }).stdout);
  const dir = dirname(w.dbPath);
  for (const f of readdirSync(dir)) chownSync(join(dir, f), uid, gid);
  return { lookupUs, devices: seeded };
}

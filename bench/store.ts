/**
 * The state store, side by side in one run (issue 11): SQLite and PostgreSQL behind the worker's
 * real knock path (KnockService: parse → filter → assemble → verify → grant → reply) with 100,000
 * enrolled devices. The firewall here is an in-process client that answers at once, so the figures
 * are the store's own (the monitor's nft session, ~0.4 ms per grant, is measured by bench/firewall.ts).
 * PostgreSQL is a throwaway cluster (fsync on, Unix socket in a temporary directory); SQLite runs
 * with synchronous=FULL. Bounded in count and time. Root only (the cluster runs as `postgres`).
 * Goals are ratios within this run; printed with met/missed, never asserted. Writes bench/results/store.md.
 *
 * Run: npm run bench:store
 */
import { randomBytes } from 'node:crypto';
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { buildSyn } from '../shared/packet/tcp.js';
import { chooseSynShape } from '../shared/packet/syn-shape.js';
import { encodeKnock, knockKeys } from '../shared/protocol/knock.js';
import { sequenceFromKey, sequenceKey, type Sequence } from '../shared/protocol/sequence.js';
import type { TumblerConfig } from '../server/config/types.js';
import { createLogger } from '../server/log.js';
import { copyToPostgres } from '../server/store/copy.js';
import { migratePostgres } from '../server/store/postgres/migrate.js';
import { PostgresStore, poolConfig } from '../server/store/postgres/store.js';
import { migrate, openDatabase } from '../server/store/sqlite/migrate.js';
import { SqliteStore } from '../server/store/sqlite/store.js';
import type { Store } from '../server/store/types.js';
import { KnockService } from '../server/worker/knock-service.js';
import type { ReplyTarget } from '../server/worker/reply-sender.js';
import { REPO } from '../test/e2e/world.js';
import { TestPostgres } from '../test/helpers/postgres.js';
import { seedDb } from './lib/seed.js';
import { stats, fmtStats } from './lib/stats.js';

const DEVICES = 100_000;
const LATENCY_KNOCKS = 300;
const THROUGHPUT_KNOCKS = 2_000;
const CONCURRENCY = 64;
const SHED_KNOCKS = 1_000;
const PROPAGATION_TRIALS = 20;
const RESTART_TRIALS = 3;
const DEADLINE_MS = 30_000; // any one wait
const SERVER = '192.0.2.1';
const RANGE = { first: 40000, last: 40999 };
const shape = chooseSynShape(4, randomBytes);

interface Device { key: Buffer; sequence: Sequence }

const config = (gateway: string): TumblerConfig => ({
  file: '/dev/null', interfaces: ['eth0'], addresses: [SERVER], user: 'tumbler', logFormat: 'json',
  store: { backend: 'sqlite', path: ':memory:' }, fleet: { gateway, gateways: [[SERVER]] },
  firewall: 'nftables', knockPorts: RANGE, timestampWindowSec: 3600, graceSec: 30,
  forwardPorts: { first: 50000, last: 59999 }, defaultTtlSec: 30, maxTtlSec: 300, breakGlass: [],
  services: [{ name: 'ssh', id: 1, target4: { host: SERVER, port: 22 } }],
});

/** One gateway: the real knock path on `store`, a firewall that answers at once, replies counted. */
class Gateway {
  readonly service: KnockService;
  private readonly waiting = new Map<string, () => void>();

  constructor(readonly store: Store, name: string) {
    this.service = new KnockService({
      config: config(name), store, now: Date.now, random: randomBytes,
      firewall: { open: async () => undefined, close: async () => undefined },
      replies: { send: async (t: ReplyTarget) => { this.waiting.get(`${t.clientAddress}:${t.clientPort}`)?.(); } },
      log: createLogger({ format: 'json', component: name, perSec: 5, write: () => undefined }),
    });
  }

  /** Feed a knock's frames; resolves when its reply leaves (the grant is committed by then). */
  knock(k: Knock): Promise<void> {
    const done = new Promise<void>((resolve) => this.waiting.set(k.id, () => { this.waiting.delete(k.id); resolve(); }));
    for (const f of k.frames) this.service.onFrame(f, 'RAW', Date.now());
    return done;
  }

  /** Feed a knock; true when it was granted before `ms` elapsed. */
  async knockWithin(k: Knock, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => { timer = setTimeout(() => r(false), ms); });
    const ok = await Promise.race([this.knock(k).then(() => true), late]);
    clearTimeout(timer);
    if (!ok) this.waiting.delete(k.id);
    return ok;
  }
}

interface Knock { id: string; frames: Buffer[] }
let knockCount = 0;

/** The client side, done before timing: the three SYN frames of a knock by `d`, from a unique (address, port). */
function makeKnock(d: Device): Knock {
  const n = knockCount++;
  const src = `${['198.51.100', '203.0.113', '192.0.2'][n % 3]}.${1 + ((n / 3) % 250 | 0)}`;
  const srcPort = 20000 + ((n / 750) % 40000 | 0);
  const bytes = Buffer.from(src.split('.').map(Number));
  const packets = encodeKnock({ keys: knockKeys(d.key), sequence: d.sequence, serviceId: 1, nowSec: Math.floor(Date.now() / 1000), boundAddress: { family: 4, bytes } });
  return { id: `${src}:${srcPort}`, frames: packets.map((p) => buildSyn({ family: 4, src, dst: SERVER, srcPort, dstPort: p.dstPort, isn: p.isn, shape })) };
}

/** Devices handed out once each across the phases (a knock consumes its device's sequence). */
class Pool {
  private next = 0;
  constructor(private readonly all: Device[]) {}
  take(n: number): Device[] {
    if (this.next + n > this.all.length) throw new Error('out of seeded devices');
    const out = this.all.slice(this.next, this.next + n);
    this.next += n;
    return out;
  }
}

async function latency(g: Gateway, devices: Device[]): Promise<number[]> {
  const ms: number[] = [];
  for (const d of devices) {
    const k = makeKnock(d);
    const t = performance.now();
    await g.knock(k);
    ms.push(performance.now() - t);
  }
  return ms;
}

/** Grants/s with CONCURRENCY knocks kept in flight, spread over the gateways in turn. */
async function throughput(gws: Gateway[], devices: Device[]): Promise<number> {
  const knocks = devices.map(makeKnock);
  let i = 0;
  const t = performance.now();
  const lane = async (): Promise<void> => {
    while (i < knocks.length) {
      const n = i++;
      await gws[n % gws.length]!.knock(knocks[n]!);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return knocks.length / ((performance.now() - t) / 1000);
}

/** Knocks offered at `rate`/s (open loop); how many were not granted within 5 s. */
async function shed(gws: Gateway[], devices: Device[], rate: number): Promise<number> {
  const knocks = devices.map(makeKnock);
  const t0 = performance.now();
  const results: Array<Promise<boolean>> = [];
  for (let n = 0; n < knocks.length; n++) {
    const due = t0 + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    results.push(gws[n % gws.length]!.knockWithin(knocks[n]!, 5_000));
  }
  return (await Promise.all(results)).filter((ok) => !ok).length;
}

/** A sequence issued by a grant at A: ms until B grants a knock on it (B learns it from the push). */
async function propagation(a: Gateway, b: Gateway, d: Device): Promise<number> {
  // A grants; the reply it stores seals the next sequence. The bench reads it from the store's
  // view at A (what a client would decode from the reply), then knocks at B until B grants.
  await a.knock(makeKnock(d));
  const next = await nextSequenceOf(a.store, d);
  const t = performance.now();
  for (;;) {
    if (await b.knockWithin(makeKnock({ key: d.key, sequence: next }), 20)) return performance.now() - t;
    if (performance.now() - t > DEADLINE_MS) throw new Error('B never accepted the sequence');
  }
}

/** The live sequence that A's grant issued for device `d` (found through the store's own lookup). */
async function nextSequenceOf(store: Store, d: Device): Promise<Sequence> {
  if (!(store instanceof PostgresStore)) throw new Error('propagation is measured on PostgreSQL');
  const r = await store.pool.query<{ k: Buffer }>(
    `SELECT n.seq_key AS k FROM sequences s JOIN sequences n ON n.parent_id = s.id AND n.state = 'live' WHERE s.seq_key = $1`, [sequenceKey(d.sequence)]);
  return sequenceFromKey(r.rows[0]!.k);
}

/** PostgreSQL stopped and started again: ms from the restart's return until a knock is granted. */
async function recovery(cluster: TestPostgres, g: Gateway, devices: Device[]): Promise<number> {
  cluster.pause();
  cluster.resume();
  const t = performance.now();
  for (const d of devices) {
    if (await g.knockWithin(makeKnock(d), 250)) return performance.now() - t;
    if (performance.now() - t > DEADLINE_MS) break;
  }
  throw new Error('no grant after the restart');
}

function pgStore(url: string, gateway: string): PostgresStore {
  const cfg = poolConfig(url, undefined, gateway);
  return new PostgresStore(new pg.Pool(cfg), cfg, { gateway });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (a throwaway PostgreSQL cluster runs as the postgres account)');
  const dir = mkdtempSync(join(tmpdir(), 'tmb-bench-store-'));
  const cluster = TestPostgres.start({ fsync: true });
  const stores: Store[] = [];
  try {
    // 1. 100,000 devices in SQLite, copied into PostgreSQL: both backends hold the same fleet.
    let t = performance.now();
    const path = join(dir, 'tumbler.db');
    const db = openDatabase(path);
    migrate(db);
    const { devices } = seedDb(db, DEVICES, { prefix: 'u', range: RANGE, auditEvent: 'seed' }); // 100,000 devices, 100 per user
    const seedMs = performance.now() - t;
    const url = cluster.createDatabase('bench');
    const pool = new pg.Pool(poolConfig(url, undefined, 'seed'));
    await migratePostgres(pool);
    t = performance.now();
    await copyToPostgres(db, pool, 'gw-a');
    const copyMs = performance.now() - t;
    await pool.end();
    db.close();
    const devicePool = new Pool(devices);

    const sqliteGc = new SqliteStore(openDatabase(path), { gateway: 'gw-a' });
    const sqliteOne = new SqliteStore(openDatabase(path), { gateway: 'gw-a', maxBatch: 1 });
    const pgA = pgStore(url, 'gw-a');
    const pgB = pgStore(url, 'gw-b');
    stores.push(sqliteGc, sqliteOne, pgA, pgB);
    const gw = { sqlite: new Gateway(sqliteGc, 'gw-a'), sqliteOne: new Gateway(sqliteOne, 'gw-a'), pgA: new Gateway(pgA, 'gw-a'), pgB: new Gateway(pgB, 'gw-b') };
    for (const g of Object.values(gw)) await g.service.rebuildFilter();
    const stopB = pgB.watch(gw.pgB.service);

    // 2. knock → grant latency, one at a time.
    const latSqlite = stats(await latency(gw.sqlite, devicePool.take(LATENCY_KNOCKS)))!;
    const latPg = stats(await latency(gw.pgA, devicePool.take(LATENCY_KNOCKS)))!;

    // 3. Sustained grants/s.
    const rateOne = await throughput([gw.sqliteOne], devicePool.take(THROUGHPUT_KNOCKS));
    const rateSqlite = await throughput([gw.sqlite], devicePool.take(THROUGHPUT_KNOCKS));
    const ratePg = await throughput([gw.pgA], devicePool.take(THROUGHPUT_KNOCKS));
    await gw.pgB.service.rebuildFilter();
    const ratePg2 = await throughput([gw.pgA, gw.pgB], devicePool.take(THROUGHPUT_KNOCKS));

    // 4. Offered below the sustained rate: nothing may be shed.
    const shedSqlite = await shed([gw.sqlite], devicePool.take(SHED_KNOCKS), Math.floor(rateSqlite * 0.8));
    const shedPg2 = await shed([gw.pgA, gw.pgB], devicePool.take(SHED_KNOCKS), Math.floor(ratePg2 * 0.8));

    // 5. A sequence issued at A, accepted at B.
    const prop: number[] = [];
    for (const d of devicePool.take(PROPAGATION_TRIALS)) prop.push(await propagation(gw.pgA, gw.pgB, d));
    const propStats = stats(prop)!;

    // 6. PostgreSQL restarted: until knocks are granted again.
    const rec: number[] = [];
    for (let i = 0; i < RESTART_TRIALS; i++) rec.push(await recovery(cluster, gw.pgA, devicePool.take(200)));
    const recStats = stats(rec)!;
    stopB();

    // 7. The table.
    const met = (ok: boolean) => (ok ? 'met' : 'missed');
    const r = (x: number) => Math.round(x).toLocaleString('en');
    const latRatio = latPg.median / latSqlite.median;
    const gcRatio = rateSqlite / rateOne;
    const fleetRatio = ratePg2 / rateOne;
    const rows = [
      `| knock → grant, SQLite (median, p90, min–max ms) | ${fmtStats(latSqlite)} | | |`,
      `| knock → grant, PostgreSQL (median, p90, min–max ms) | ${fmtStats(latPg)} | PostgreSQL ≤ 1.5 × SQLite | ${latRatio.toFixed(2)} × — ${met(latRatio <= 1.5)} |`,
      `| grants/s, SQLite, one fsync per grant (baseline) | ${r(rateOne)} | | |`,
      `| grants/s, SQLite, group commit | ${r(rateSqlite)} | ≥ 5 × baseline | ${gcRatio.toFixed(1)} × — ${met(gcRatio >= 5)} |`,
      `| grants/s, PostgreSQL, one gateway | ${r(ratePg)} | | ${(ratePg / rateOne).toFixed(1)} × baseline |`,
      `| grants/s, PostgreSQL, two gateways | ${r(ratePg2)} | ≥ 2 × baseline | ${fleetRatio.toFixed(1)} × — ${met(fleetRatio >= 2)} |`,
      `| knocks shed at 80 % of the sustained rate, SQLite group commit | ${shedSqlite} of ${SHED_KNOCKS} | none | ${met(shedSqlite === 0)} |`,
      `| knocks shed at 80 % of the sustained rate, two gateways on PostgreSQL | ${shedPg2} of ${SHED_KNOCKS} | none | ${met(shedPg2 === 0)} |`,
      `| a sequence issued at A accepted at B (ms) | ${fmtStats(propStats)} | within 1 s | ${met(propStats.max <= 1000)} |`,
      `| PostgreSQL restarted → knocks granted again (ms after it is back) | ${fmtStats(recStats)} | within seconds | ${met(recStats.max <= 5000)} |`,
    ];
    const out = [
      `# State store: SQLite vs PostgreSQL, ${new Date().toISOString().slice(0, 10)}`, '',
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}. ${DEVICES.toLocaleString('en')} enrolled devices in each backend`,
      `(seeded in ${r(seedMs)} ms into SQLite, copied into PostgreSQL by \`store copy\`'s code in ${r(copyMs)} ms). The worker's real knock path`,
      `(KnockService) on each store; the firewall answers at once, so these are the store's figures (the monitor's nft session`,
      `adds ~0.4 ms per grant, see firewall.md). SQLite synchronous=FULL; PostgreSQL 15 with fsync on, over its Unix socket.`,
      `Throughput: ${THROUGHPUT_KNOCKS} knocks, ${CONCURRENCY} in flight, each by a different device. Run: \`npm run bench:store\`.`, '',
      '| measure | value | goal | result |',
      '|---|---|---|---|',
      ...rows, '',
      'Notes: both gateways of the two-gateway row run in this one process (one event loop, one core at a time), so the row',
      'shows the database side of a fleet, not two machines\' worth of CPU. The machine is shared: compare ratios within a run,',
      'not absolute figures across runs. Latency includes the wait for the commit\'s fsync.', '',
    ].join('\n');
    process.stdout.write(out);
    writeFileSync(join(REPO, 'bench', 'results', 'store.md'), out);
  } finally {
    for (const s of stores) await s.close().catch(() => undefined);
    cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e: unknown) => { process.stderr.write(`bench/store: ${(e as Error).stack ?? String(e)}\n`); process.exit(1); });

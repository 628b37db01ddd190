/**
 * The fleet race (issue 11): the same valid knock delivered to two gateways at the same instant,
 * 200 times. Each gateway is the real worker knock path (KnockService: parse → filter → assemble →
 * verify → grant) on its own PostgresStore, both on one real PostgreSQL; the firewall is a
 * recording client (the e2e suite uses the real monitor). Every round: exactly one grant fleet-wide
 * (never two, never none), and the gateway that lost closes the firewall element it had opened.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { buildSyn } from '../../shared/packet/tcp.js';
import { chooseSynShape } from '../../shared/packet/syn-shape.js';
import { encodeKnock, knockIsns, knockKeys } from '../../shared/protocol/knock.js';
import { openReply, replyKey } from '../../shared/protocol/reply.js';
import type { Sequence } from '../../shared/protocol/sequence.js';
import type { TumblerConfig } from '../../server/config/types.js';
import { createLogger } from '../../server/log.js';
import { migratePostgres } from '../../server/store/postgres/migrate.js';
import { PostgresStore, poolConfig } from '../../server/store/postgres/store.js';
import { KnockService, type FirewallClient, type ReplyPort } from '../../server/worker/knock-service.js';
import type { ReplyTarget } from '../../server/worker/reply-sender.js';
import { havePostgres, TestPostgres } from '../helpers/postgres.js';
import { seededBytes } from '../helpers/seeded-bytes.js';

const SERVER = '192.0.2.1';
const CLIENT = '198.51.100.2';
const ROUNDS = 200;
const key = Buffer.alloc(16, 0x42);


const config = (gateway: string, url: string): TumblerConfig => ({
  file: '/dev/null', interfaces: ['eth0'], addresses: [SERVER], user: 'tumbler', logFormat: 'json',
  store: { backend: 'postgres', url }, fleet: { gateway, gateways: [[SERVER], ['192.0.2.2']] },
  firewall: 'nftables', knockPorts: { first: 40000, last: 40999 }, timestampWindowSec: 30, graceSec: 30,
  forwardPorts: { first: 50000, last: 50999 }, defaultTtlSec: 30, maxTtlSec: 300, breakGlass: [],
  services: [{ name: 'ssh', id: 1, target4: { host: SERVER, port: 22 } }],
});

class Kernel implements FirewallClient {
  opens = 0;
  closes = 0;
  async open(): Promise<void> { this.opens++; }
  async close(): Promise<void> { this.closes++; }
}
class Replies implements ReplyPort {
  sent: Array<{ t: ReplyTarget; payload: Buffer }> = [];
  async send(t: ReplyTarget, payload: Buffer) { this.sent.push({ t, payload }); }
}

let cluster: TestPostgres | null = null;
before(() => { if (havePostgres) cluster = TestPostgres.start(); });
after(() => cluster?.stop());

test(`the same knock at two gateways at once, ${ROUNDS} times: exactly one grant each time`, { skip: !havePostgres && 'needs root and PostgreSQL 15' }, async (t) => {
  const url = cluster!.createDatabase();
  let now = 1_800_000_000_000;
  const gw = ['gw-a', 'gw-b'].map((name) => {
    const cfg = poolConfig(url, undefined, name);
    const store = new PostgresStore(new pg.Pool(cfg), cfg, { gateway: name, now: () => now });
    const kernel = new Kernel();
    const replies = new Replies();
    const service = new KnockService({
      config: config(name, url), store, firewall: kernel, replies, now: () => now, random: seededBytes(name),
      log: createLogger({ format: 'json', component: name, perSec: 100, write: () => {} }),
    });
    return { name, store, kernel, replies, service };
  });
  t.after(() => Promise.all(gw.map((g) => g.store.close())));
  await migratePostgres(gw[0]!.store.pool);

  let seq: Sequence = { ports: [40010, 40500, 40900], tags: [0x11, 0x22, 0x33] };
  await gw[0]!.store.enrollDevice({
    user: 'alice', device: 'laptop', mode: 'add', key, kdf: { salt: Buffer.alloc(16, 1), N: 1 << 15, r: 8, p: 1 }, first: seq,
    createUser: ['ssh'], audit: { event: 'admin.user.add', user: 'alice', result: 'ok' },
  });
  const rnd = seededBytes('client');
  const shape = chooseSynShape(4, rnd);
  const wins = { 'gw-a': 0, 'gw-b': 0 };

  for (let round = 0; round < ROUNDS; round++) {
    now += 1000;
    await Promise.all(gw.map((g) => g.service.rebuildFilter()));
    const knock = encodeKnock({ keys: knockKeys(key), sequence: seq, serviceId: 1, nowSec: Math.floor(now / 1000), boundAddress: { family: 4, bytes: Buffer.from([198, 51, 100, 2]) } });
    const frames = knock.map((p, i) => buildSyn({ family: 4, src: CLIENT, dst: SERVER, srcPort: 41001 + i, dstPort: p.dstPort, isn: p.isn, shape }));
    const before = gw.map((g) => g.service.counters.get('granted'));
    const sentBefore = gw.map((g) => g.replies.sent.length);
    // The same three frames into both gateways within one turn of the event loop.
    for (const f of frames) for (const g of gw) g.service.onFrame(f, 'RAW', now);
    await Promise.all(gw.map((g) => g.service.idle()));

    const granted = gw.filter((g, i) => g.service.counters.get('granted') > before[i]!);
    assert.equal(granted.length, 1, `round ${round}: ${granted.length} gateways granted`);
    const winner = granted[0]!;
    // The other one either lost the accept (STORE_CONFLICT, silent) or looked up after the commit and
    // saw a retransmit from the same source within grace: then it re-sends the stored reply, byte for byte.
    const reply = winner.replies.sent.at(-1)!.payload;
    gw.forEach((g, i) => {
      if (g !== winner && g.replies.sent.length > sentBefore[i]!) assert.deepEqual(g.replies.sent.at(-1)!.payload, reply, `round ${round}: resend`);
    });
    wins[winner.name as 'gw-a' | 'gw-b']++;
    const total = gw.reduce((n, g) => n + g.service.counters.get('granted'), 0);
    assert.equal(total, round + 1, `round ${round}: grants so far`);
    for (const g of gw) assert.equal(g.kernel.opens - g.kernel.closes, g.service.counters.get('granted'), `${g.name}: an element stays open only for a grant`);
    seq = openReply(replyKey(key), reply, { sequence: seq, isns: knockIsns(knock) }).next;
  }
  const grants = await gw[0]!.store.listGrants();
  assert.equal(grants.length, ROUNDS);
  const lost = gw.map((g) => g.service.counters.get('grant_failed.STORE_CONFLICT.ssh'));
  t.diagnostic(`winners: gw-a ${wins['gw-a']}, gw-b ${wins['gw-b']}; accepts lost to the other gateway: ${lost.join(', ')}; resent: ${gw.map((g) => g.service.counters.get('resent')).join(', ')}`);
  assert.ok(lost[0]! + lost[1]! > 0, 'the race was real: some accepts reached the database together');
});

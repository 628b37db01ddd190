/**
 * Integration: probes ("where am I", docs/protocol.md §8) through the worker's real knock path
 * (parse → filter → assemble → verify → probe responder) on a real SQLite store, with a recording
 * firewall client and reply port. A probe is answered with the address it came from and the
 * server's clock; it opens nothing and consumes nothing; copies, replays and floods stay silent.
 */
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSyn } from '../../shared/packet/tcp.js';
import { chooseSynShape } from '../../shared/packet/syn-shape.js';
import { parseAddress } from '../../shared/net/address.js';
import { encodeKnock, encodeProbe, knockIsns, knockKeys, type Knock } from '../../shared/protocol/knock.js';
import { openAnswer, openReply, replyKey } from '../../shared/protocol/reply.js';
import { sequenceKey, type Sequence } from '../../shared/protocol/sequence.js';
import { createLogger } from '../../server/log.js';
import { KnockService } from '../../server/worker/knock-service.js';
import { LIMITS } from '../../server/worker/limits.js';
import type { ReplyTarget } from '../../server/worker/reply-sender.js';
import { migrate, openDatabase } from '../../server/store/sqlite/migrate.js';
import { SqliteStore } from '../../server/store/sqlite/store.js';
import { testConfig } from '../unit/server/admin/config.fixture.js';
import { kdf } from '../unit/server/store/fixtures/seed.js';

const SERVER = '192.0.2.1';
const NAT = '203.0.113.7';
const OTHER = '203.0.113.99';
const T0 = 1_800_000_000_000;
const config = testConfig();
const key = Buffer.alloc(16, 0x42);
const seqA: Sequence = { ports: [40010, 40500, 40900], tags: [0x11, 0x22, 0x33] };

let dir: string;
let store: SqliteStore;
let now = T0;
const opened: string[] = [];
const sent: Array<{ t: ReplyTarget; payload: Buffer }> = [];
let service: KnockService;
let n = 0;
const random = (len: number): Buffer => Buffer.alloc(len, ++n & 0xff);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tmb-probe-'));
  now = T0;
  const db = openDatabase(join(dir, 'db.sqlite'));
  migrate(db);
  store = new SqliteStore(db, { now: () => now, gateway: 'gw-test' });
  await store.enrollDevice({
    user: 'alice', device: 'laptop', mode: 'add', key, kdf: kdf(), first: seqA, createUser: ['ssh'],
    audit: { event: 'admin.device.add', user: 'alice', device: 'laptop', result: 'ok' },
  });
  opened.length = 0;
  sent.length = 0;
  service = new KnockService({
    config, store, now: () => now, random,
    firewall: { open: async (g) => { opened.push(`${g.address}:${g.port}`); }, close: async () => {} },
    replies: { send: async (t, payload) => { sent.push({ t, payload }); } },
    log: createLogger({ format: 'json', component: 'test', perSec: 100, write: () => {} }),
  });
  await service.rebuildFilter();
});
afterEach(async () => {
  await store.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const shape = chooseSynShape(4, random);
function frames(knock: Knock, src: string, srcPorts = [41001, 41002, 41003]): Buffer[] {
  return knock.map((p, i) => buildSyn({ family: 4, src, dst: SERVER, srcPort: srcPorts[i]!, dstPort: p.dstPort, isn: p.isn, shape }));
}
const probeOf = (seq: Sequence, atSec = Math.floor(now / 1000), k = key): Knock => encodeProbe({ keys: knockKeys(k), sequence: seq, nowSec: atSec });
const knockOf = (seq: Sequence, bound: string, atSec = Math.floor(now / 1000)): Knock =>
  encodeKnock({ keys: knockKeys(key), sequence: seq, serviceId: 1, nowSec: atSec, boundAddress: parseAddress(bound) });
async function feed(fs: Buffer[]): Promise<void> {
  for (const f of fs) service.onFrame(f, 'RAW', now);
  await service.idle();
}
/** The next attempt, after the previous attempt's packets expired from the assembler. */
const later = (ms = LIMITS.pendingTtlMs + 1): void => { now += ms; };

test('a probe is answered with the address it came from and the server clock; nothing opens, nothing is consumed', async () => {
  const probe = probeOf(seqA, Math.floor(now / 1000) - 600); // a client clock ten minutes behind: still answered
  await feed(frames(probe, NAT));
  assert.equal(sent.length, 1);
  assert.equal(opened.length, 0);
  const { t, payload } = sent[0]!;
  assert.deepEqual([t.clientAddress, t.serverPort, t.clientPort, t.knockIsn], [NAT, seqA.ports[2], 41003, probe[2].isn]);
  const r = openAnswer(replyKey(key), payload, { sequence: seqA, isns: knockIsns(probe) });
  assert.deepEqual(r, { kind: 'address', windowSec: config.timestampWindowSec, serverTimeMs: now, observed: parseAddress(NAT) });
  assert.equal((await store.findByKey(sequenceKey(seqA)))?.state, 'live');
  assert.equal(service.counters.get('probe.answered'), 1);
  // The knock bound to the reported address then grants on the same sequence.
  later();
  await feed(frames(knockOf(seqA, NAT), NAT));
  assert.equal(opened.length, 1);
  assert.equal((await store.findByKey(sequenceKey(seqA)))?.state, 'consumed');
});

test('a copy of a probe from another address gets nothing; the identical probe from its own address is re-answered within grace only', async () => {
  const probe = probeOf(seqA);
  await feed(frames(probe, NAT));
  later();
  await feed(frames(probe, OTHER));
  assert.equal(sent.length, 1);
  assert.equal(service.counters.get('reject.PROBE_REPLAY'), 1);
  later();
  await feed(frames(probe, NAT, [42001, 42002, 42003]));
  assert.equal(sent.length, 2);
  assert.equal(sent[1]!.t.clientAddress, NAT);
  now += config.graceSec * 1000 + 1;
  await feed(frames(probe, NAT));
  assert.equal(sent.length, 2);
  assert.equal(service.counters.get('reject.PROBE_REPLAY'), 2);
  assert.equal(opened.length, 0);
});

test('only a strictly newer probe is answered after one was seen: an older captured one stays silent', async () => {
  const sec = Math.floor(now / 1000);
  await feed(frames(probeOf(seqA, sec), NAT));
  later();
  await feed(frames(probeOf(seqA, sec - 1), OTHER));
  later();
  await feed(frames(probeOf(seqA, sec - 1), NAT));
  assert.equal(sent.length, 1);
  later();
  await feed(frames(probeOf(seqA, sec + 10), NAT));
  assert.equal(sent.length, 2);
});

test('at most three answers per sequence per second, however many fresh probes arrive', async () => {
  const sec = Math.floor(now / 1000);
  for (let i = 0; i < 10; i++) await feed(frames(probeOf(seqA, sec + i), NAT, [43000 + 3 * i, 43001 + 3 * i, 43002 + 3 * i]));
  assert.equal(sent.length, LIMITS.resendsPerSequencePerSec);
  assert.equal(service.counters.get('reject.PROBE_RATE'), 10 - LIMITS.resendsPerSequencePerSec);
});

test('a probe with another key fails the MAC and counts toward the sequence\'s MAC allowance', async () => {
  const sec = Math.floor(now / 1000);
  for (let i = 0; i < LIMITS.macFailuresPerSequencePerSec + 2; i++) { // all within one second: one fixed window
    await feed(frames(probeOf(seqA, sec + i, Buffer.alloc(16, 0x99)), NAT, [44000 + 3 * i, 44001 + 3 * i, 44002 + 3 * i]));
  }
  assert.equal(sent.length, 0);
  assert.equal(service.counters.get('reject.KNOCK_MAC'), LIMITS.macFailuresPerSequencePerSec);
  assert.ok((service.counters.get('reject.MAC_RATE')) >= 1);
});

test('disabled user or device: silent; a revoked device\'s sequence: silent', async () => {
  await store.setUserEnabled('alice', false);
  await feed(frames(probeOf(seqA), NAT));
  await store.setUserEnabled('alice', true);
  await store.setDeviceEnabled('alice', 'laptop', false);
  later();
  await feed(frames(probeOf(seqA, Math.floor(now / 1000)), NAT));
  assert.equal(sent.length, 0);
  assert.equal(service.counters.get('reject.USER_DISABLED'), 1);
  assert.equal(service.counters.get('reject.DEVICE_DISABLED'), 1);
  await store.deleteDevice('alice', 'laptop');
  await service.rebuildFilter();
  later();
  await feed(frames(probeOf(seqA, Math.floor(now / 1000)), NAT));
  assert.equal(sent.length, 0);
});

test('lost reply: a probe on the consumed sequence is answered while its successor is unused, silent once it is used', async () => {
  await feed(frames(knockOf(seqA, NAT), NAT));
  assert.equal(opened.length, 1);
  const grant = openReply(replyKey(key), sent[0]!.payload, { sequence: seqA, isns: knockIsns(knockOf(seqA, NAT)) });
  sent.length = 0; // the reply is lost
  later();
  await feed(frames(probeOf(seqA, Math.floor(now / 1000)), NAT));
  assert.equal(sent.length, 1);
  later();
  await feed(frames(knockOf(grant.next, NAT, Math.floor(now / 1000)), NAT)); // the successor is used
  assert.equal(opened.length, 2);
  later();
  const before = sent.length;
  await feed(frames(probeOf(seqA, Math.floor(now / 1000)), NAT));
  assert.equal(sent.length, before);
});

test('leftovers of a client\'s earlier tries are settled: a stale knock, then a probe and the right knock within 3 s spend no MAC failure', async () => {
  const sec = Math.floor(now / 1000);
  await feed(frames(knockOf(seqA, NAT, sec - 300), NAT, [45001, 45002, 45003])); // the clock was off: authentic, stale
  assert.equal(service.counters.get('reject.KNOCK_STALE'), 1);
  await feed(frames(probeOf(seqA, sec), NAT, [45004, 45005, 45006]));
  assert.equal(sent.length, 1);
  await feed(frames(knockOf(seqA, NAT, sec), NAT, [45007, 45008, 45009]));
  assert.equal(opened.length, 1);
  assert.equal(service.counters.get('reject.KNOCK_MAC'), 0);
});

test('a knock bound to an old NAT address (MAC fails) is settled by the probe that follows: the next knock spends no MAC failure', async () => {
  const sec = Math.floor(now / 1000);
  await feed(frames(knockOf(seqA, OTHER, sec), NAT, [46001, 46002, 46003]));
  const afterKnock = service.counters.get('reject.KNOCK_MAC');
  assert.equal(afterKnock, 1);
  await feed(frames(probeOf(seqA, sec), NAT, [46004, 46005, 46006]));
  assert.equal(sent.length, 1);
  const afterProbe = service.counters.get('reject.KNOCK_MAC');
  await feed(frames(knockOf(seqA, NAT, sec + 1), NAT, [46007, 46008, 46009]));
  assert.equal(opened.length, 1);
  assert.equal(service.counters.get('reject.KNOCK_MAC'), afterProbe, 'no mixed combination with the old knock\'s packets');
  assert.ok(afterProbe - afterKnock <= 3, 'the probe itself meets the old packets at most 3 times');
});

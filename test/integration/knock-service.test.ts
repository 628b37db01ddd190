/**
 * Integration: crafted frames through the worker's real knock path (parse → filter → assemble →
 * verify → SQLite store → grant → reply) with a recording firewall client in place of the
 * privileged monitor (the end-to-end suite uses the real one) and a recording reply port.
 */
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TumblerError } from '../../shared/errors.js';
import { buildSyn } from '../../shared/packet/tcp.js';
import { chooseSynShape } from '../../shared/packet/syn-shape.js';
import { encodeKnock, knockIsns, knockKeys, type Knock } from '../../shared/protocol/knock.js';
import { openReply, replyKey } from '../../shared/protocol/reply.js';
import { sequenceKey, type Sequence } from '../../shared/protocol/sequence.js';
import type { TumblerConfig } from '../../server/config/types.js';
import { createLogger } from '../../server/log.js';
import { migrate, openDatabase } from '../../server/store/sqlite/migrate.js';
import { SqliteStore } from '../../server/store/sqlite/store.js';
import { KnockService, type FirewallClient, type ReplyPort } from '../../server/worker/knock-service.js';
import type { ReplyTarget } from '../../server/worker/reply-sender.js';
import { LIMITS } from '../../server/worker/limits.js';
import { WorkerPublisher } from '../../server/worker/publish.js';
import { readStateFile } from '../../server/state/file.js';
import { HISTOGRAM_BUCKETS, workerStateShape } from '../../server/state/worker-state.js';
import { seededBytes } from '../helpers/seeded-bytes.js';

const SERVER = '192.0.2.1';
const CLIENT = '198.51.100.2';
const OTHER = '198.51.100.3';
const T0 = 1_800_000_000_000;


const config: TumblerConfig = {
  file: '/dev/null', interfaces: ['eth0'], addresses: [SERVER], user: 'tumbler', logFormat: 'json',
  store: { backend: 'sqlite', path: ':memory:' }, fleet: { gateway: 'gw-test', gateways: [[SERVER]] },
  firewall: 'nftables', knockPorts: { first: 40000, last: 40999 }, timestampWindowSec: 30, graceSec: 30,
  forwardPorts: { first: 50000, last: 50999 }, defaultTtlSec: 30, maxTtlSec: 300, breakGlass: [],
  services: [{ name: 'ssh', id: 1, target4: { host: SERVER, port: 22 } }, { name: 'db', id: 2, target4: { host: SERVER, port: 5432 } }],
};

class RecordingFirewall implements FirewallClient {
  opened: Array<{ address: string; port: number; service: string }> = [];
  closed: Array<{ address: string; port: number }> = [];
  /** The next open fails with this code (as the monitor's answer would). */
  failNext: string | null = null;
  async open(g: { address: string; port: number; service: string }) {
    const code = this.failNext;
    this.failNext = null;
    if (code) throw new TumblerError(code, 'refused');
    this.opened.push(g);
  }
  async close(g: { address: string; port: number }) { this.closed.push(g); }
}
class RecordingReplies implements ReplyPort {
  sent: Array<{ t: ReplyTarget; payload: Buffer }> = [];
  async send(t: ReplyTarget, payload: Buffer) { this.sent.push({ t, payload }); }
}

let dir: string;
let store: SqliteStore;
let fw: RecordingFirewall;
let replies: RecordingReplies;
let service: KnockService;
let now = T0;
const key = Buffer.alloc(16, 0x42);
const rnd = seededBytes('svc');

async function enroll(user: string, device: string, seq: Sequence, services = ['ssh']): Promise<void> {
  await store.enrollDevice({
    user, device, mode: 'add', key, kdf: { salt: Buffer.alloc(16, 1), N: 1 << 15, r: 8, p: 1 }, first: seq,
    audit: { event: 'admin.device.add', user, device, result: 'ok' }, ...(!(await store.getUser(user)) && { createUser: services }),
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tmb-int-'));
  const db = openDatabase(join(dir, 'db.sqlite'));
  migrate(db);
  now = T0;
  store = new SqliteStore(db, { now: () => now, gateway: 'gw-test' });
  fw = new RecordingFirewall();
  replies = new RecordingReplies();
  service = new KnockService({ config, store, firewall: fw, replies, log: createLogger({ format: 'json', component: 'test', perSec: 100, write: () => {} }), now: () => now, random: rnd });
});
afterEach(async () => {
  await store.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** Client side: the three SYN frames (raw IP, link type RAW) of a knock from `src`. */
function knockFrames(seq: Sequence, o: { src?: string; bound?: string; serviceId?: number; atSec?: number } = {}): { frames: Buffer[]; knock: Knock; srcPorts: number[] } {
  const src = o.src ?? CLIENT;
  const bound = (o.bound ?? src).split('.').map(Number);
  const knock = encodeKnock({ keys: knockKeys(key), sequence: seq, serviceId: o.serviceId ?? 1, nowSec: o.atSec ?? Math.floor(now / 1000), boundAddress: { family: 4, bytes: Buffer.from(bound) } });
  const shape = chooseSynShape(4, rnd);
  const srcPorts = [41001, 41002, 41003];
  const frames = knock.map((p, i) => buildSyn({ family: 4, src, dst: SERVER, srcPort: srcPorts[i]!, dstPort: p.dstPort, isn: p.isn, shape }));
  return { frames, knock, srcPorts };
}
const feed = async (frames: Buffer[]) => {
  for (const f of frames) service.onFrame(f, 'RAW', now);
  await service.idle();
};
const seqA: Sequence = { ports: [40010, 40500, 40900], tags: [0x11, 0x22, 0x33] };

test('a valid knock grants once: firewall opened, reply sealed to the next sequence, sent from the last knock port', async () => {
  await enroll('alice', 'laptop', seqA);
  await service.rebuildFilter();
  const { frames, knock, srcPorts } = knockFrames(seqA);
  await feed(frames);
  assert.equal(fw.opened.length, 1);
  assert.equal(fw.opened[0]!.address, CLIENT);
  assert.equal(replies.sent.length, 1);
  const { t, payload } = replies.sent[0]!;
  assert.equal(t.serverPort, 40900);
  assert.equal(t.clientPort, srcPorts[2]);
  assert.equal(t.knockIsn, knock[2].isn);
  const r = openReply(replyKey(key), payload, { sequence: seqA, isns: knockIsns(knock) });
  assert.equal(r.grantedPort, fw.opened[0]!.port);
  assert.equal((await store.findByKey(sequenceKey(seqA)))?.state, 'consumed');
  assert.equal((await store.findByKey(sequenceKey(r.next)))?.state, 'live');
  // The next sequence is live and works.
  now += 2000;
  const k2 = knockFrames(r.next);
  await feed(k2.frames);
  assert.equal(fw.opened.length, 2);
});

test('reordered, duplicated and spoof-surrounded packets still grant', async () => {
  await enroll('alice', 'laptop', seqA);
  await service.rebuildFilter();
  const { frames } = knockFrames(seqA);
  const spoof = (port: number, isn: number) => buildSyn({ family: 4, src: CLIENT, dst: SERVER, srcPort: 50123, dstPort: port, isn, shape: chooseSynShape(4, rnd) });
  await feed([frames[2]!, spoof(40500, 0x22abcdef), frames[0]!, frames[0]!, spoof(40123, 0x11000000), frames[1]!]);
  assert.equal(fw.opened.length, 1);
  assert.equal(replies.sent.length, 1);
});

test('replay from another address and from the same address grants nothing new; a retransmit in grace gets the same reply', async () => {
  await enroll('alice', 'laptop', seqA);
  await service.rebuildFilter();
  const { frames } = knockFrames(seqA);
  await feed(frames);
  assert.equal(fw.opened.length, 1);
  const firstReply = replies.sent[0]!.payload;
  // Same packets again from the same address within the grace window: same reply, nothing opened.
  now += 1000;
  await feed(frames);
  assert.equal(fw.opened.length, 1);
  assert.equal(replies.sent.length, 2);
  assert.deepEqual(replies.sent[1]!.payload, firstReply);
  // From another address (an on-path copy): nothing at all.
  const copied = knockFrames(seqA, { src: OTHER, bound: CLIENT }).frames;
  await feed(copied);
  assert.equal(fw.opened.length, 1);
  assert.equal(replies.sent.length, 2);
  // After the grace window the same packets get nothing either.
  now += 60_000;
  await feed(frames);
  assert.equal(fw.opened.length, 1);
  assert.equal(replies.sent.length, 2);
  assert.ok(service.counters.get('reject.REPLAY') >= 1);
});

test('lost reply: a newer knock on the same sequence recovers once; the old knock never replays', async () => {
  await enroll('alice', 'laptop', seqA);
  await service.rebuildFilter();
  const first = knockFrames(seqA);
  await feed(first.frames);
  replies.sent = []; // the reply is lost on the way
  now += 90_000; // well after the grace window
  const again = knockFrames(seqA);
  await feed(again.frames);
  assert.equal(fw.opened.length, 2);
  const r = openReply(replyKey(key), replies.sent[0]!.payload, { sequence: seqA, isns: knockIsns(again.knock) });
  // The first knock is dead for good; the new successor works.
  await feed(first.frames);
  assert.equal(fw.opened.length, 2);
  now += 1000;
  await feed(knockFrames(r.next).frames);
  assert.equal(fw.opened.length, 3);
  // Once the successor was used, the old sequence is gone even with a newer timestamp.
  now += 1000;
  await feed(knockFrames(seqA).frames);
  assert.equal(fw.opened.length, 3);
});

test('disabled or revoked users get nothing; others are unaffected', async () => {
  const seqB: Sequence = { ports: [40020, 40520, 40920], tags: [1, 2, 3] };
  await enroll('alice', 'laptop', seqA);
  await enroll('bob', 'laptop', seqB);
  await store.setUserEnabled('alice', false);
  await service.rebuildFilter();
  await feed(knockFrames(seqA).frames);
  assert.equal(fw.opened.length, 0);
  assert.equal(service.counters.get('reject.USER_DISABLED'), 1);
  await feed(knockFrames(seqB).frames);
  assert.equal(fw.opened.length, 1);
  await store.setUserEnabled('alice', true);
  await store.deleteUser('alice');
  await service.rebuildFilter();
  now += 1000;
  await feed(knockFrames(seqA).frames);
  assert.equal(fw.opened.length, 1);
});

test('a service the user may not open, a stale timestamp and a bad MAC are silent', async () => {
  await enroll('alice', 'laptop', seqA, ['ssh']);
  await service.rebuildFilter();
  // Each attempt is a separate retry, after the previous one's packets expired from the assembler:
  // otherwise the assembler also (rightly) tries the cross-combinations of the three knocks.
  const retry = () => { now += LIMITS.pendingTtlMs + 1; };
  await feed(knockFrames(seqA, { serviceId: 2 }).frames);
  retry();
  await feed(knockFrames(seqA, { atSec: Math.floor(now / 1000) - 120 }).frames);
  retry();
  await feed(knockFrames(seqA, { src: CLIENT, bound: OTHER }).frames);
  retry();
  assert.equal(fw.opened.length, 0);
  assert.equal(replies.sent.length, 0);
  assert.equal(service.counters.get('reject.SERVICE_DENIED'), 1);
  assert.equal(service.counters.get('reject.KNOCK_STALE'), 1);
  assert.equal(service.counters.get('reject.KNOCK_MAC'), 1);
  // And the sequence is still usable afterwards.
  await feed(knockFrames(seqA).frames);
  assert.equal(fw.opened.length, 1);
});

test('bounded memory under 10^6 junk SYNs; nothing opened, the legitimate knock still works after', async () => {
  await enroll('alice', 'laptop', seqA);
  await service.rebuildFilter();
  const shape = chooseSynShape(4, rnd);
  const junk = rnd(4 * 1_000_000);
  for (let i = 0; i < 1_000_000; i++) {
    const src = `203.0.113.${i % 250}`;
    // Aim at the live ports with the right tag half the time, so the junk reaches the assembler.
    const port = i % 2 ? seqA.ports[i % 3]! : 40000 + (i % 1000);
    const isn = i % 2 ? ((seqA.tags[i % 3]! << 24) | (junk.readUInt32BE((i * 4) % (junk.length - 4)) & 0xffffff)) >>> 0 : junk.readUInt32BE((i * 4) % (junk.length - 4));
    service.onFrame(buildSyn({ family: 4, src, dst: SERVER, srcPort: 40000 + (i % 20000), dstPort: port, isn, shape }), 'RAW', now + Math.floor(i / 100));
    if (i % 100_000 === 0) {
      const p = service.pending;
      assert.ok(p.sources <= 65_536 && p.packets <= 65_536 * 8, JSON.stringify(p));
    }
  }
  await service.idle();
  assert.equal(fw.opened.length, 0);
  assert.ok(service.pending.packets <= 250 * 8);
  now += 20_000;
  await feed(knockFrames(seqA).frames);
  assert.equal(fw.opened.length, 1);
});

// Issue 12 §3: pcap sees packets before the kernel drops martians. A knock MAC'd for a source such
// as 127.0.0.1, 0.1.2.3, a multicast or the broadcast address never reaches the store or the monitor.
test('knocks from non-unicast sources (loopback, "this network", multicast, broadcast) are dropped before the store', async () => {
  await enroll('alice', 'laptop', seqA);
  await service.rebuildFilter();
  for (const src of ['127.0.0.1', '0.1.2.3', '224.0.0.9', '255.255.255.255']) {
    await feed(knockFrames(seqA, { src }).frames);
  }
  assert.equal(fw.opened.length, 0);
  assert.equal(replies.sent.length, 0);
  assert.equal(service.counters.get('reject.SOURCE_ADDRESS'), 12);
  assert.equal((await store.findByKey(sequenceKey(seqA)))?.state, 'live');
  await feed(knockFrames(seqA).frames);
  assert.equal(fw.opened.length, 1);
});

// Issue 12 §8: the MAC-failure damper (LIMITS.macFailuresPerSequencePerSec, reason MAC_RATE) is what
// docs/protocol.md §7's brute-force odds rest on: past the limit, even a correct MAC is not tried.
test('MAC_RATE: after the allowed MAC failures on a sequence in one second, no candidate is tried until the window passes', async () => {
  await enroll('alice', 'laptop', seqA);
  await service.rebuildFilter();
  for (let i = 0; i < LIMITS.macFailuresPerSequencePerSec; i++) {
    await feed(knockFrames(seqA, { src: `198.51.100.${20 + i}`, bound: OTHER }).frames); // MAC made for another address
  }
  assert.equal(service.counters.get('reject.KNOCK_MAC'), LIMITS.macFailuresPerSequencePerSec);
  await feed(knockFrames(seqA).frames); // the real owner, same second
  assert.equal(service.counters.get('reject.MAC_RATE'), 1);
  assert.equal(fw.opened.length, 0);
  now += 1001;
  await feed(knockFrames(seqA).frames);
  assert.equal(fw.opened.length, 1);
});

// Issue 12 §8 (§9b "same source"): a byte-exact copy of a consumed knock sent from another address
// within the grace window is a REPLAY: the stored reply is not re-sent there (no reflector).
test('an exact copy of a consumed knock from another address within grace gets nothing (REPLAY), not the stored reply', async () => {
  await enroll('alice', 'laptop', seqA);
  await service.rebuildFilter();
  const { knock, srcPorts, frames } = knockFrames(seqA);
  await feed(frames);
  assert.equal(replies.sent.length, 1);
  const shape = chooseSynShape(4, rnd);
  const copy = knock.map((p, i) => buildSyn({ family: 4, src: OTHER, dst: SERVER, srcPort: srcPorts[i]!, dstPort: p.dstPort, isn: p.isn, shape }));
  now += 500;
  await feed(copy);
  assert.equal(replies.sent.length, 1);
  assert.equal(fw.opened.length, 1);
  assert.equal(service.counters.get('reject.REPLAY'), 1);
  await feed(frames); // the same copy from the knocking address: the stored reply again
  assert.equal(replies.sent.length, 2);
  assert.equal(replies.sent[1]!.t.clientAddress, CLIENT);
});

// Issue 12 §5: a store error on the knock path (a database that cannot be read) fails closed:
// nothing opened, nothing thrown into the capture loop, counted; the service keeps running.
test('a store that fails on lookup fails closed without throwing; knocks are counted, nothing is opened', async () => {
  await enroll('alice', 'laptop', seqA);
  await service.rebuildFilter();
  store.db.close(); // every query now fails
  const { frames } = knockFrames(seqA);
  assert.doesNotThrow(() => { for (const f of frames) service.onFrame(f, 'RAW', now); });
  await service.idle();
  assert.equal(fw.opened.length, 0);
  assert.equal(replies.sent.length, 0);
  assert.equal(service.counters.get('reject.STORE_UNAVAILABLE'), 1);
  await assert.rejects(service.rebuildFilter());
});

// Issue 15: what the worker publishes for `tumblerd status` and the metrics (server/worker/publish.ts).
test('the published worker state counts exactly what happened: one grant, one replay, one failed open; timings; the last minute', async () => {
  await enroll('alice', 'laptop', seqA);
  await service.rebuildFilter();
  const { frames, knock, srcPorts } = knockFrames(seqA);
  for (const f of frames) service.onFrame(f, 'RAW', now - 7); // captured 7 ms before the grant
  await service.idle();
  const next = openReply(replyKey(key), replies.sent[0]!.payload, { sequence: seqA, isns: knockIsns(knock) }).next;
  const shape = chooseSynShape(4, rnd);
  await feed(knock.map((p, i) => buildSyn({ family: 4, src: OTHER, dst: SERVER, srcPort: srcPorts[i]!, dstPort: p.dstPort, isn: p.isn, shape })));
  now += 2000;
  fw.failNext = 'FIREWALL_TIMEOUT';
  await feed(knockFrames(next).frames);
  assert.equal(fw.opened.length, 1);

  const file = join(dir, 'worker.json');
  const publisher = new WorkerPublisher({
    file, service, pcap: () => ({ received: 9, dropped: 1, ifDropped: 0 }), backend: 'sqlite', startedAtMs: T0 - 1000, log: createLogger({ format: 'json', component: 'test', perSec: 1, write: () => {} }), now: () => now, pid: 4242,
  });
  await publisher.publish();
  const st = readStateFile(file, workerStateShape, { ownerUid: process.getuid!() });
  assert.equal(st.pid, 4242);
  assert.equal(st.counters['granted'], 1);
  assert.equal(st.counters['reject.REPLAY'], 1);
  assert.equal(st.counters['grant_failed.FIREWALL_TIMEOUT.ssh'], 1);
  assert.equal(st.counters['assembled'], 3);
  assert.deepEqual(st.pcap, { received: 9, dropped: 1, ifDropped: 0 });
  assert.deepEqual(st.store, { backend: 'sqlite', healthy: true });
  // Knock → grant: one observation of 7 ms, in the first bucket at or above it.
  const k2g = st.histograms.knock_to_grant;
  assert.equal(k2g.count, 1);
  assert.equal(k2g.counts.length, HISTOGRAM_BUCKETS.knock_to_grant.length + 1);
  assert.deepEqual(k2g.counts.map((c, i) => [HISTOGRAM_BUCKETS.knock_to_grant[i] ?? Infinity, c]).find(([, c]) => c === 1)?.[0], 0.01);
  assert.ok(Math.abs(k2g.sum - 0.007) < 1e-9);
  assert.equal(st.histograms.store_lookup.count, 3); // the grant, the replay, the failed knock
  assert.equal(st.histograms.store_accept.count, 1);
  assert.deepEqual(st.recent.minute, { knocks: 3, grants: 1, rejections: 1, seconds: 3 });
});

test('a store that fails is published as unhealthy since the first failure, with its code', async () => {
  await enroll('alice', 'laptop', seqA);
  await service.rebuildFilter();
  store.db.close();
  await feed(knockFrames(seqA).frames);
  const publisher = new WorkerPublisher({
    file: join(dir, 'w.json'), service, pcap: () => ({ received: 0, dropped: 0, ifDropped: 0 }), backend: 'sqlite', startedAtMs: T0, log: createLogger({ format: 'json', component: 'test', perSec: 1, write: () => {} }), now: () => now,
  });
  const st = await publisher.state();
  assert.equal(st.store.healthy, false);
  assert.equal(st.store.failingSinceMs, now);
  assert.match(st.store.lastFailure ?? '', /^STORE_/);
});

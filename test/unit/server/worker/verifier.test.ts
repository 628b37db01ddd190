/**
 * Verifier on its own (issue 16): every decision and reason code, in cost order, against a real
 * SQLite store in memory. The knock path around it is covered by test/integration/knock-service.test.ts.
 */
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeKnock, knockIsns, knockKeys } from '../../../../shared/protocol/knock.js';
import { sequenceKey, type Sequence } from '../../../../shared/protocol/sequence.js';
import type { ServiceConfig } from '../../../../server/config/types.js';
import { migrate, openDatabase } from '../../../../server/store/sqlite/migrate.js';
import { SqliteStore } from '../../../../server/store/sqlite/store.js';
import type { Triple } from '../../../../server/worker/assembler.js';
import { LIMITS } from '../../../../server/worker/limits.js';
import { Verifier } from '../../../../server/worker/verifier.js';

const T0 = 1_800_000_000_000;
const KEY = Buffer.alloc(16, 0x42);
const SEQ: Sequence = { ports: [40010, 40500, 40900], tags: [0x11, 0x22, 0x33] };
const CLIENT = { family: 4 as const, bytes: Buffer.from([198, 51, 100, 2]), address: '198.51.100.2' };
const OTHER = { family: 4 as const, bytes: Buffer.from([198, 51, 100, 3]), address: '198.51.100.3' };
const SERVICES: ServiceConfig[] = [
  { name: 'ssh', id: 1, target4: { host: '192.0.2.1', port: 22 } },
  { name: 'db', id: 2, target4: { host: '192.0.2.1', port: 5432 } },
  { name: 'v6only', id: 3, target6: { host: '2001:db8::1', port: 22 } },
];

let store: SqliteStore;
let verifier: Verifier;
let now = T0;

beforeEach(async () => {
  const db = openDatabase(':memory:');
  migrate(db);
  now = T0;
  store = new SqliteStore(db, { now: () => now, gateway: 'gw-test' });
  verifier = new Verifier({ store, services: SERVICES, windowSec: 30, graceSec: 30 });
  await store.enrollDevice({
    user: 'alice', device: 'laptop', mode: 'add', key: KEY, kdf: { salt: Buffer.alloc(16, 1), N: 1 << 15, r: 8, p: 1 }, first: SEQ,
    createUser: ['ssh', 'v6only'], audit: { event: 'admin.user.add', result: 'ok' },
  });
});

function triple(o: { seq?: Sequence; serviceId?: number; atSec?: number; bound?: Buffer; isnNonce?: number } = {}): Triple {
  const seq = o.seq ?? SEQ;
  const knock = encodeKnock({
    keys: knockKeys(KEY), sequence: seq, serviceId: o.serviceId ?? 1, nowSec: o.atSec ?? Math.floor(now / 1000),
    boundAddress: { family: 4, bytes: o.bound ?? CLIENT.bytes },
  });
  return knock.map((p, i) => ({ dstPort: p.dstPort, isn: p.isn, srcPort: 41001 + i, dstAddress: '192.0.2.1', atMs: now })) as unknown as Triple;
}

const decide = (t: Triple, source = CLIENT) => {
  const s = Verifier.sequenceOf(t);
  const key = sequenceKey(s);
  return verifier.decide(t, s, key, key.toString('hex'), source, () => now);
};

test('sequenceOf: the ports and the ISNs\' high bytes of a triple sorted by port', () => {
  assert.deepEqual(Verifier.sequenceOf(triple()), SEQ);
});

test('accept carries the sequence, the ISNs, the declaration and the service; no candidate → NO_SEQUENCE', async () => {
  const t = triple();
  const d = await decide(t);
  assert.equal(d.kind, 'accept');
  if (d.kind !== 'accept') return;
  assert.deepEqual(d.sequence, SEQ);
  assert.equal(d.mode, 'first');
  assert.equal(d.service.name, 'ssh');
  assert.deepEqual(d.isns, knockIsns(t.map((p) => ({ dstPort: p.dstPort, isn: p.isn })) as never));
  const other: Sequence = { ports: [40011, 40500, 40900], tags: [0x11, 0x22, 0x33] };
  assert.deepEqual(await decide(triple({ seq: other })), { kind: 'reject', reason: 'NO_SEQUENCE' });
});

test('reasons from the protocol: KNOCK_MAC (made for another address), KNOCK_STALE, SERVICE_UNKNOWN / DENIED / FAMILY', async () => {
  const reason = async (t: Triple, src = CLIENT) => { const d = await decide(t, src); return d.kind === 'reject' ? d.reason : d.kind; };
  assert.equal(await reason(triple({ bound: OTHER.bytes })), 'KNOCK_MAC');
  assert.equal(await reason(triple({ atSec: Math.floor(now / 1000) - 120 })), 'KNOCK_STALE');
  assert.equal(await reason(triple({ serviceId: 9 })), 'SERVICE_UNKNOWN');
  assert.equal(await reason(triple({ serviceId: 2 })), 'SERVICE_DENIED');
  assert.equal(await reason(triple({ serviceId: 3 })), 'SERVICE_FAMILY');
});

test('user and device flags: USER_DISABLED, DEVICE_DISABLED', async () => {
  await store.setUserEnabled('alice', false);
  assert.equal(((await decide(triple())) as { reason: string }).reason, 'USER_DISABLED');
  await store.setUserEnabled('alice', true);
  await store.setDeviceEnabled('alice', 'laptop', false);
  assert.equal(((await decide(triple())) as { reason: string }).reason, 'DEVICE_DISABLED');
});

test('MAC_RATE: after the allowed failures in a second the MAC is not even tried, then the window passes', async () => {
  for (let i = 0; i < LIMITS.macFailuresPerSequencePerSec; i++) assert.equal(((await decide(triple({ bound: OTHER.bytes }))) as { reason: string }).reason, 'KNOCK_MAC');
  assert.equal(((await decide(triple())) as { reason: string }).reason, 'MAC_RATE');
  now += 1000;
  assert.equal((await decide(triple())).kind, 'accept');
});

test('consumed sequence: exact copy from the same source in grace → resend; other source or after grace → REPLAY; newer knock → recovery', async () => {
  const t = triple();
  const d = await decide(t);
  assert.equal(d.kind, 'accept');
  if (d.kind !== 'accept') return;
  await store.acceptKnock({
    sequenceId: d.candidate.sequenceId, deviceId: d.candidate.deviceId, ts: d.declaration.timestamp, isns: d.isns, address: CLIENT.address,
    family: 4, service: 'ssh', port: 50001, ttlSec: 30, next: { ports: [40001, 40002, 40003], tags: [1, 2, 3] }, reply: Buffer.alloc(68, 7), mode: 'first',
  });
  assert.equal((await decide(t)).kind, 'resend');
  assert.equal(((await decide(t, OTHER)) as { reason: string }).reason, 'REPLAY');
  // The verifier's own one-time check (the store re-checks too): a new knock that is not newer is a replay.
  now = T0 + 20_000;
  assert.equal(((await decide(triple({ atSec: Math.floor(T0 / 1000) - 1 }))) as { reason: string }).reason, 'REPLAY');
  now = T0 + 31_000;
  assert.equal(((await decide(t)) as { reason: string }).reason, 'REPLAY', 'the exact copy after grace');
  const newer = await decide(triple());
  assert.equal(newer.kind, 'accept');
  assert.equal((newer as { mode: string }).mode, 'recovery');
});

test('a store that fails makes decide() reject (the caller fails closed)', async () => {
  store.db.close();
  await assert.rejects(decide(triple()));
});

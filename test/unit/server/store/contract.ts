/**
 * The store contract, one suite for both backends: every case runs on SQLite
 * (store-contract-sqlite.test.ts) and on a real PostgreSQL (test/integration/store-contract-postgres.test.ts).
 * A backend gives a factory that opens a fresh database and, on it, one Store per gateway name.
 */
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { isTumblerError } from '../../../../shared/errors.js';
import { sequenceKey, type Sequence } from '../../../../shared/protocol/sequence.js';
import { withFreshSequence } from '../../../../server/store/sequence-draw.js';
import type { AcceptKnockInput, EnrollInput, Store } from '../../../../server/store/types.js';
import { isns, kdf, key, RANGE, seqN, T0 } from './fixtures/seed.js';

export interface Backend {
  /** A fresh, migrated database; `open(gateway)` gives a store on it for that gateway (clock: clock.now). */
  fresh(t: { after: (fn: () => Promise<void> | void) => void }, clock: { now: number }): Promise<{ open(gateway: string, o?: { maxBatch?: number }): Promise<Store> }>;
}

const code = (c: string) => (e: unknown) => isTumblerError(e, c);
const K = (n: number) => sequenceKey(seqN(n));

function enrollInput(user: string, device: string, first: Sequence, o: Partial<EnrollInput> = {}): EnrollInput {
  return { user, device, mode: 'add', key: key(), kdf: kdf(), first, audit: { event: 'admin.device.add', user, device, result: 'ok' }, ...o };
}

async function enroll(store: Store, first: Sequence, user = 'alice', device = 'laptop'): Promise<number> {
  const exists = await store.getUser(user);
  return store.enrollDevice(enrollInput(user, device, first, exists ? {} : { createUser: ['ssh', 'db'] }));
}

async function acceptInput(store: Store, on: Sequence, next: Sequence, over: Partial<AcceptKnockInput> = {}): Promise<AcceptKnockInput> {
  const c = await store.findByKey(sequenceKey(on));
  if (!c) throw new Error('no candidate for the sequence');
  return {
    sequenceId: c.sequenceId, deviceId: c.deviceId, ts: Math.floor(T0 / 1000), isns: isns(9), address: '198.51.100.7', family: 4,
    service: 'ssh', port: 50123, ttlSec: 30, next, reply: Buffer.alloc(68, 0xab), mode: c.state === 'live' ? 'first' : 'recovery', ...over,
  };
}

export function storeContract(name: string, backend: Backend): void {
  const setup = async (t: Parameters<Backend['fresh']>[0], clock = { now: T0 }) => {
    const db = await backend.fresh(t, clock);
    const store = await db.open('gw-a');
    t.after(() => store.close());
    return { db, store, clock };
  };

  test(`${name}: findByKey returns the device, its key, flags and the sequence state; a miss is undefined`, async (t) => {
    const { store } = await setup(t);
    const deviceId = await enroll(store, seqN(1));
    const c = await store.findByKey(K(1));
    assert.ok(c);
    assert.equal(c.deviceId, deviceId);
    assert.equal(c.userName, 'alice');
    assert.equal(c.deviceName, 'laptop');
    assert.deepEqual(c.key, key());
    assert.deepEqual(c.services, ['db', 'ssh']);
    assert.equal(c.state, 'live');
    assert.equal(c.parentId, null);
    assert.equal(c.successorLive, false);
    assert.equal(c.userEnabled && c.deviceEnabled, true);
    assert.equal(await store.findByKey(K(2)), undefined);
    assert.deepEqual((await store.liveSequenceKeys()).map((k) => k.toString('hex')), [K(1).toString('hex')]);
  });

  test(`${name}: accept 'first' consumes, issues the next (parent set), records the grant and audit row with this gateway`, async (t) => {
    const { store } = await setup(t);
    const deviceId = await enroll(store, seqN(1));
    const before = (await store.findByKey(K(1)))!;
    const r = await store.acceptKnock(await acceptInput(store, seqN(1), seqN(2)));
    const used = (await store.findByKey(K(1)))!;
    assert.equal(used.state, 'consumed');
    assert.equal(used.consumedAt, T0);
    assert.equal(used.lastTs, Math.floor(T0 / 1000));
    assert.deepEqual(used.lastIsns, isns(9));
    assert.equal(used.lastAddress, '198.51.100.7');
    assert.deepEqual(used.reply, Buffer.alloc(68, 0xab));
    assert.equal(used.successorLive, true);
    const next = (await store.findByKey(K(2)))!;
    assert.equal(next.state, 'live');
    assert.equal(next.sequenceId, r.nextSequenceId);
    assert.equal(next.parentId, before.sequenceId);
    const grants = await store.liveGrants(T0);
    assert.equal(grants.length, 1);
    assert.deepEqual({ ...grants[0]!, id: 0 }, {
      id: 0, gateway: 'gw-a', deviceId, userName: 'alice', deviceName: 'laptop', family: 4, address: '198.51.100.7', port: 50123, service: 'ssh',
      openedAt: T0, expiresAt: T0 + 30_000, closedAt: null, closeReason: null, closeRequestedAt: null,
    });
    assert.equal(grants[0]!.id, r.grantId);
    const audit = await store.audit({ limit: 10 });
    assert.deepEqual(audit.map((a) => [a.event, a.gateway, a.result, a.user, a.port]), [['admin.device.add', 'gw-a', 'ok', 'alice', null], ['knock', 'gw-a', 'granted', 'alice', 50123]]);
  });

  test(`${name}: a second accept of the same sequence loses with STORE_CONFLICT; recovery only with a newer timestamp`, async (t) => {
    const { store } = await setup(t);
    await enroll(store, seqN(1));
    const input = await acceptInput(store, seqN(1), seqN(2));
    await store.acceptKnock(input);
    await assert.rejects(store.acceptKnock({ ...input, next: seqN(3) }), code('STORE_CONFLICT'));
    const rec = await acceptInput(store, seqN(1), seqN(3), { ts: input.ts + 5 });
    assert.equal(rec.mode, 'recovery');
    await store.acceptKnock(rec);
    assert.equal(await store.findByKey(K(2)), undefined, 'the unused successor is retired by the recovery');
    await assert.rejects(store.acceptKnock({ ...rec, next: seqN(4) }), code('STORE_CONFLICT')); // ts no longer newer
    await assert.rejects(store.acceptKnock({ ...rec, ts: rec.ts + 5, next: seqN(4), deviceId: rec.deviceId + 1 }), code('STORE_CONFLICT'));
    assert.equal((await store.liveGrants(T0)).length, 2);
  });

  test(`${name}: accept re-checks policy inside the transaction (disabled user or device, service not allowed)`, async (t) => {
    const { store } = await setup(t);
    await enroll(store, seqN(1));
    const input = await acceptInput(store, seqN(1), seqN(2));
    await store.setUserEnabled('alice', false);
    await assert.rejects(store.acceptKnock(input), code('STORE_CONFLICT'));
    await store.setUserEnabled('alice', true);
    await store.setDeviceEnabled('alice', 'laptop', false);
    await assert.rejects(store.acceptKnock(input), code('STORE_CONFLICT'));
    await store.setDeviceEnabled('alice', 'laptop', true);
    await assert.rejects(store.acceptKnock({ ...input, service: 'web' }), code('STORE_CONFLICT'));
    await store.acceptKnock(input);
    assert.equal((await store.liveGrants(T0)).length, 1);
  });

  test(`${name}: a next sequence already in play is STORE_SEQUENCE_COLLISION and changes nothing; the draw loop then succeeds`, async (t) => {
    const { store } = await setup(t);
    await enroll(store, seqN(1));
    await enroll(store, seqN(2), 'bob', 'phone');
    const input = await acceptInput(store, seqN(1), seqN(2));
    await assert.rejects(store.acceptKnock(input), code('STORE_SEQUENCE_COLLISION'));
    assert.equal((await store.findByKey(K(1)))!.state, 'live');
    assert.equal((await store.liveGrants(T0)).length, 0);
    const draws = [seqN(2), seqN(2), seqN(5)];
    let i = 0;
    const used = await withFreshSequence(RANGE, randomBytes, async () => { // the attempt picks its own sequences
      const next = draws[i++]!;
      await store.acceptKnock({ ...input, next });
      return next;
    });
    assert.deepEqual(used, seqN(5));
    assert.equal((await store.findByKey(K(5)))!.state, 'live');
  });

  test(`${name}: group commit: concurrent accepts share commits, and one that fails takes no other down`, async (t) => {
    const { store } = await setup(t);
    for (let d = 0; d < 20; d++) await enroll(store, seqN(10 + d), `u${d}`, 'dev');
    const inputs = await Promise.all(Array.from({ length: 20 }, (_, d) => acceptInput(store, seqN(10 + d), seqN(100 + d))));
    const bad = { ...inputs[7]!, next: seqN(111) }; // collides with the next of device 11
    const results = await Promise.allSettled([...inputs.map((x, d) => (d === 7 ? store.acceptKnock(bad) : store.acceptKnock(x)))]);
    const failed: number[] = results.flatMap((r, d) => (r.status === 'rejected' ? [d] : []));
    const lost = new Set<number>(failed);
    assert.ok(lost.size <= 1 && [...lost].every((d) => d === 7 || d === 11), `failed: ${failed.join(',')}`);
    assert.equal((await store.liveGrants(T0)).length, 20 - failed.length);
    for (let d = 0; d < 20; d++) {
      if (lost.has(d)) assert.equal((await store.findByKey(K(10 + d)))!.state, 'live');
      else assert.equal((await store.findByKey(K(10 + d)))!.state, 'consumed');
    }
  });

  test(`${name}: the same knock accepted twice at once, on one gateway or two, grants exactly once`, async (t) => {
    const { db, store } = await setup(t);
    const other = await db.open('gw-b');
    t.after(() => other.close());
    await enroll(store, seqN(1));
    for (let round = 0; round < 10; round++) {
      const on = seqN(1 + round);
      const a = await acceptInput(store, on, seqN(50 + 2 * round));
      const b = { ...a, next: seqN(51 + 2 * round) };
      const r = await Promise.allSettled([store.acceptKnock(a), other.acceptKnock(b), store.acceptKnock({ ...a, next: seqN(200 + round) })]);
      assert.equal(r.filter((x) => x.status === 'fulfilled').length, 1, `round ${round}`);
      for (const x of r) if (x.status === 'rejected') assert.ok(isTumblerError(x.reason, 'STORE_CONFLICT'), String(x.reason));
      const winner = r.findIndex((x) => x.status === 'fulfilled');
      const nextSeq = winner === 1 ? b.next : winner === 0 ? a.next : seqN(200 + round);
      // move the device on to seqN(2 + round) for the next round
      const c = (await store.findByKey(sequenceKey(nextSeq)))!;
      assert.equal(c.state, 'live');
      const step = await acceptInput(store, nextSeq, seqN(2 + round), { ts: a.ts + 1 });
      await store.acceptKnock(step);
    }
    const grants = await store.listGrants();
    assert.equal(grants.length, 20);
  });

  test(`${name}: enrollDevice adds (with the user), re-enrolls (old sequences dead), refuses duplicates and colliding firsts`, async (t) => {
    const { store } = await setup(t);
    await store.enrollDevice(enrollInput('alice', 'laptop', seqN(1), { createUser: ['ssh'] }));
    await assert.rejects(store.enrollDevice(enrollInput('alice', 'laptop', seqN(2), { createUser: ['ssh'] })), code('STORE_EXISTS'));
    await assert.rejects(store.enrollDevice(enrollInput('alice', 'laptop', seqN(2))), code('STORE_EXISTS'));
    await assert.rejects(store.enrollDevice(enrollInput('alice', 'phone', seqN(1))), code('STORE_SEQUENCE_COLLISION'));
    assert.equal(await store.getDevice('alice', 'phone'), undefined, 'the failed enrollment left nothing');
    await assert.rejects(store.enrollDevice(enrollInput('nobody', 'x', seqN(3))), code('STORE_NOT_FOUND'));
    await store.acceptKnock(await acceptInput(store, seqN(1), seqN(2)));
    await store.enrollDevice(enrollInput('alice', 'laptop', seqN(4), { mode: 'reenroll', key: key(7) }));
    assert.equal(await store.findByKey(K(1)), undefined);
    assert.equal(await store.findByKey(K(2)), undefined);
    const c = (await store.findByKey(K(4)))!;
    assert.deepEqual(c.key, key(7));
    assert.equal((await store.getDevice('alice', 'laptop'))!.activeSequences, 1);
    assert.deepEqual((await store.listUsers()).map((u) => [u.name, u.devices, u.services]), [['alice', 1, ['ssh']]]);
    await assert.rejects(store.enrollDevice(enrollInput('Bad Name', 'x', seqN(5), { createUser: ['ssh'] })), code('STORE_BAD_NAME'));
  });

  test(`${name}: users and devices: enable, disable, services, delete (returning the live grants of every gateway)`, async (t) => {
    const { db, store } = await setup(t);
    const other = await db.open('gw-b');
    t.after(() => other.close());
    await enroll(store, seqN(1));
    await enroll(store, seqN(2), 'alice', 'phone');
    await store.acceptKnock(await acceptInput(store, seqN(1), seqN(3)));
    await other.acceptKnock(await acceptInput(other, seqN(2), seqN(4), { port: 50200 }));
    await store.setUserServices('alice', ['db']);
    assert.deepEqual((await store.getUser('alice'))!.services, ['db']);
    await assert.rejects(store.setUserEnabled('nobody', false), code('STORE_NOT_FOUND'));
    await assert.rejects(store.setDeviceEnabled('alice', 'nope', false), code('STORE_NOT_FOUND'));
    assert.deepEqual((await store.listDevices('alice')).map((d) => [d.name, d.enabled]), [['laptop', true], ['phone', true]]);
    await assert.rejects(store.listDevices('nobody'), code('STORE_NOT_FOUND'));
    const phone = await store.deleteDevice('alice', 'phone');
    assert.deepEqual(phone.map((g) => [g.gateway, g.port]), [['gw-b', 50200]]);
    const all = await store.deleteUser('alice');
    assert.deepEqual(all.map((g) => [g.gateway, g.port]), [['gw-a', 50123], ['gw-b', 50200]]);
    assert.equal(await store.getUser('alice'), undefined);
    assert.deepEqual(await store.liveSequenceKeys(), []);
    assert.equal((await store.listGrants()).length, 2, 'grant rows stay as history');
  });

  test(`${name}: grants: each gateway sees its own live grants; close requests reach only the owner; closeGrant once`, async (t) => {
    const { db, store, clock } = await setup(t);
    const other = await db.open('gw-b');
    t.after(() => other.close());
    await enroll(store, seqN(1));
    await enroll(store, seqN(2), 'bob', 'phone');
    const ga = (await store.acceptKnock(await acceptInput(store, seqN(1), seqN(3)))).grantId;
    const gb = (await other.acceptKnock(await acceptInput(other, seqN(2), seqN(4), { port: 50200 }))).grantId;
    const breakGlass = await other.addGrant({ family: 6, address: '2001:db8::7', port: 50300, service: 'ssh', ttlSec: 60 });
    assert.deepEqual((await store.liveGrants(T0)).map((g) => g.id), [ga]);
    assert.deepEqual((await other.liveGrants(T0)).map((g) => g.id), [gb, breakGlass]);
    assert.deepEqual((await store.listGrants()).map((g) => [g.id, g.gateway]), [[breakGlass, 'gw-b'], [gb, 'gw-b'], [ga, 'gw-a']]);
    await store.requestClose([gb], 'revoked by root');
    assert.deepEqual(await store.closeRequests(T0), []);
    const asked = await other.closeRequests(T0);
    assert.deepEqual(asked.map((g) => [g.id, g.closeReason]), [[gb, 'revoked by root']]);
    assert.ok(asked[0]!.closeRequestedAt !== null);
    const closed = await other.closeGrant(gb, 'revoked by root');
    assert.equal(closed!.closedAt, T0);
    assert.equal(await other.closeGrant(gb, 'again'), undefined);
    await assert.rejects(other.closeGrant(999_999, 'x'), code('STORE_NOT_FOUND'));
    assert.deepEqual(await other.closeRequests(T0), []);
    assert.deepEqual((await store.grantsById([gb, ga])).map((g) => [g.id, g.closedAt]), [[ga, null], [gb, T0]]); // in id order
    clock.now = T0 + 31_000;
    assert.deepEqual((await store.liveGrants(clock.now)).map((g) => g.id), []);
    assert.deepEqual((await store.listGrants({ activeOnly: true })).map((g) => g.id), [breakGlass]);
  });

  test(`${name}: audit: newest --limit rows oldest first, by user and since, with the gateway`, async (t) => {
    const { db, store, clock } = await setup(t);
    const other = await db.open('gw-b');
    t.after(() => other.close());
    for (let i = 0; i < 5; i++) {
      clock.now = T0 + i * 1000;
      await (i % 2 ? other : store).recordAudit({ event: 'admin.user.disable', user: i < 3 ? 'alice' : 'bob', result: 'ok', reason: `r${i}` });
    }
    assert.deepEqual((await store.audit({ limit: 3 })).map((a) => a.reason), ['r2', 'r3', 'r4']);
    assert.deepEqual((await store.audit({ limit: 10, user: 'alice' })).map((a) => [a.reason, a.gateway]), [['r0', 'gw-a'], ['r1', 'gw-b'], ['r2', 'gw-a']]);
    assert.deepEqual((await store.audit({ limit: 10, sinceMs: T0 + 3000 })).map((a) => a.reason), ['r3', 'r4']);
  });

  test(`${name}: a sequence issued through another connection reaches watch() within a second`, async (t) => {
    const { db, store } = await setup(t);
    const other = await db.open('gw-b');
    t.after(() => other.close());
    const heard: string[] = [];
    let changed = 0;
    const stop = store.watch({ sequenceIssued: (k) => heard.push(k.toString('hex')), changed: () => changed++, resync: () => changed++ });
    t.after(stop);
    await new Promise((r) => setTimeout(r, 300)); // the listener is up
    await enroll(other, seqN(1));
    const until = Date.now() + 1000;
    while (!heard.includes(K(1).toString('hex')) && changed === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.ok(heard.includes(K(1).toString('hex')) || changed > 0, 'the change was pushed');
  });

  test(`${name}: prune deletes retired sequences, ended grants and old audit rows, nothing in play`, async (t) => {
    const { store, clock } = await setup(t);
    await enroll(store, seqN(1));
    await store.acceptKnock(await acceptInput(store, seqN(1), seqN(2)));
    await store.acceptKnock(await acceptInput(store, seqN(2), seqN(3)));
    clock.now = T0 + 3_600_000;
    const r = await store.prune(T0 + 60_000);
    assert.deepEqual(r, { sequences: 1, grants: 2, audit: 3 });
    assert.equal((await store.findByKey(K(2)))!.state, 'consumed');
    assert.equal((await store.findByKey(K(3)))!.state, 'live');
  });
}

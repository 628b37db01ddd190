/**
 * The open flow against an in-process server made of the real protocol module (fake-server.ts),
 * with injected clock, randomness, transport, local address and password.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openService, pickService, type OpenDeps } from '../../../../client/knock/open.js';
import { describeSyn } from '../../../../client/knock/wire.js';
import { loadProfile, profilePath, saveProfile } from '../../../../client/state/profile.js';
import type { Profile } from '../../../../client/state/schema.js';
import { isTumblerError } from '../../../../shared/errors.js';
import { deriveDeviceKey } from '../../../../shared/protocol/kdf.js';
import type { Sequence } from '../../../../shared/protocol/sequence.js';
import { FakeServer, seededRandom } from './fake-server.js';

const SERVER = '192.0.2.1';
const LOCAL = '198.51.100.2';
const NAT = '203.0.113.7';
const KEY = Buffer.alloc(16, 0x42);
const SALT = Buffer.alloc(16, 0x24);
const FIRST: Sequence = { ports: [40010, 40500, 40900], tags: [0x11, 0x22, 0x33] };
const T0 = 1_800_000_000_000;

let dir: string;
let root: string;
before(() => { root = mkdtempSync(join(tmpdir(), 'tumbler-open-')); });
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
beforeEach(() => { dir = join(root, `p${n++}`); });

function profile(o: Partial<Profile> = {}): Profile {
  return {
    v: 1, name: 'work', server: { address: SERVER, family: 4 }, deviceId: 0, user: 'alice', key: KEY.toString('base64'),
    kdf: { salt: SALT.toString('base64'), N: 1 << 14, r: 8, p: 1 },
    sequence: { ports: [...FIRST.ports], tags: [...FIRST.tags] }, services: { ssh: 1, db: 2 }, clockOffsetMs: 0, updatedAt: 0, ...o,
  };
}

interface Rig { server: FakeServer; deps: OpenDeps; clock: { ms: number } }

async function rig(p: Profile, o: { acceptStyle?: boolean; key?: Buffer; savedAt?: number; password?: () => Promise<string> } = {}): Promise<Rig> {
  const clock = { ms: T0 };
  await saveProfile(dir, p, { now: () => o.savedAt ?? T0 - 60_000 });
  const server = new FakeServer(o.key ?? KEY, FIRST, () => clock.ms);
  const deps: OpenDeps = {
    now: () => clock.ms,
    random: seededRandom(3),
    transport: server.transport(o.acceptStyle),
    localAddress: async () => LOCAL,
    password: o.password,
  };
  return { server, deps, clock };
}

const fileOf = (): string => readFileSync(profilePath(dir, 'work'), 'utf8');

describe('open flow', () => {
  test('success: the next sequence, clock offset, observed address and grant are stored before it returns', async () => {
    const { server, deps } = await rig(profile());
    server.skewMs = 4_321;
    const r = await openService({ dir, profile: 'work', service: 'ssh' }, deps);
    assert.equal(server.accepted.length, 1);
    assert.equal(r.port, server.accepted[0]!.port);
    assert.equal(r.observedAddress, LOCAL);
    const p = await loadProfile(dir, 'work');
    assert.deepEqual(p.sequence, { ports: [...server.sequence.ports], tags: [...server.sequence.tags] });
    assert.notDeepEqual(p.sequence, { ports: [...FIRST.ports], tags: [...FIRST.tags] });
    assert.equal(p.clockOffsetMs, 4_321);
    assert.equal(p.observedAddress, LOCAL);
    assert.deepEqual(p.lastGrant, { port: r.port, service: 'ssh', expiresAt: r.expiresAt });
    assert.equal(p.updatedAt, T0);
    assert.equal(p.key, KEY.toString('base64'));
    // The server decoded the service the client asked for.
    assert.equal(server.accepted[0]!.declaration.serviceId, 1);
  });

  test('the next open knocks with the stored next sequence', async () => {
    const { server, deps, clock } = await rig(profile());
    await openService({ dir, profile: 'work' }, { ...deps });
    clock.ms += 2_000;
    await openService({ dir, profile: 'work' }, deps);
    assert.equal(server.accepted.length, 2);
  });

  test('packets: ports[2] last, distinct ephemeral source ports, local source address, one destination', async () => {
    const { server, deps } = await rig(profile());
    await openService({ dir, profile: 'work', publicAddress: NAT }, { ...deps, transport: async (f, pk, t, a) => {
      server.seenAs = NAT;
      return server.transport()(f, pk, t, a);
    } });
    const syns = server.sends[0]!.packets.map(describeSyn);
    assert.deepEqual(syns.map((s) => s.dstPort).slice(2), [FIRST.ports[2]]);
    assert.deepEqual(new Set(syns.slice(0, 2).map((s) => s.dstPort)), new Set([FIRST.ports[0], FIRST.ports[1]]));
    assert.equal(new Set(syns.map((s) => s.srcPort)).size, 3);
    for (const s of syns) {
      assert.ok(s.srcPort >= 32768 && s.srcPort <= 60999);
      assert.equal(s.src, LOCAL); // bound to the NAT address, sent from the local one
      assert.equal(s.dst, SERVER);
      assert.equal(s.isn >>> 24, FIRST.tags[FIRST.ports.indexOf(s.dstPort as never)]);
    }
  });

  test('lost replies: the same packets are re-sent (byte for byte) with growing waits, and the retransmit is answered', async () => {
    const { server, deps } = await rig(profile({ observedAddress: LOCAL }));
    server.dropReplies = 2;
    const r = await openService({ dir, profile: 'work', timeoutMs: 400 }, deps);
    assert.equal(server.sends.length, 3);
    for (const s of server.sends.slice(1)) {
      s.packets.forEach((p, i) => assert.ok(p.equals(server.sends[0]!.packets[i]!), 'retransmit differs'));
    }
    assert.deepEqual(server.sends.map((s) => s.timeoutMs), [400, 600, 800]);
    assert.equal(server.accepted.length, 1); // the retransmits opened nothing new
    assert.equal(r.port, server.accepted[0]!.port);
    assert.deepEqual((await loadProfile(dir, 'work')).sequence.ports, [...server.sequence.ports]);
  });

  test('three sends of the first candidate unanswered, the second candidate answered', async () => {
    // The stored observed address is stale (a NAT that changed): the server sees the local address.
    const { server, deps } = await rig(profile({ observedAddress: NAT }));
    const r = await openService({ dir, profile: 'work' }, deps);
    assert.equal(server.sends.length, 4);
    for (const s of server.sends.slice(1, 3)) s.packets.forEach((p, i) => assert.ok(p.equals(server.sends[0]!.packets[i]!)));
    assert.ok(!server.sends[3]!.packets[2]!.equals(server.sends[0]!.packets[2]!));
    assert.deepEqual(server.rejected, ['KNOCK_MAC', 'KNOCK_MAC', 'KNOCK_MAC']);
    assert.equal(r.boundAddress, LOCAL);
    assert.equal(r.boundSource, 'local');
    assert.equal((await loadProfile(dir, 'work')).observedAddress, LOCAL);
    // Each new knock on the sequence carries a later second, even with a frozen clock.
    assert.equal(server.accepted[0]!.declaration.timestamp, Math.floor(T0 / 1000) + 1);
  });

  test('no reply at all: OPEN_NO_REPLY after 3 sends per candidate, profile unchanged', async () => {
    const { server, deps } = await rig(profile({ observedAddress: NAT }));
    const before = fileOf();
    await assert.rejects(openService({ dir, profile: 'work' }, { ...deps, transport: async (f, p, t, a) => {
      await server.transport()(f, p, t, a);
      return null;
    } }), (e) => isTumblerError(e, 'OPEN_NO_REPLY'));
    assert.equal(server.sends.length, 6);
    assert.equal(fileOf(), before);
  });

  test('a reply sealed with another key is ignored (helper style: the attempt counts as lost)', async () => {
    const { server, deps } = await rig(profile({ observedAddress: LOCAL }));
    server.forgedFirst = 1;
    const r = await openService({ dir, profile: 'work' }, deps);
    assert.equal(server.sends.length, 2);
    assert.equal(r.port, server.accepted[0]!.port);
    assert.notEqual(r.observedAddress, '192.0.2.99');
  });

  test('a reply sealed with another key is ignored (raw style: it keeps listening)', async () => {
    const { server, deps } = await rig(profile({ observedAddress: LOCAL }), { acceptStyle: true });
    server.forgedFirst = 2;
    const r = await openService({ dir, profile: 'work' }, deps);
    assert.equal(server.sends.length, 1);
    assert.equal(r.port, server.accepted[0]!.port);
  });

  test('only forged replies: OPEN_NO_REPLY, profile unchanged', async () => {
    const { server, deps } = await rig(profile({ observedAddress: LOCAL }), { key: Buffer.alloc(16, 0x99) });
    const before = fileOf();
    await assert.rejects(openService({ dir, profile: 'work' }, deps), (e) => isTumblerError(e, 'OPEN_NO_REPLY'));
    assert.equal(server.accepted.length, 0);
    assert.equal(fileOf(), before);
  });

  test('behind NAT: --public-address binds the knock; the observed address and clock offset are stored', async () => {
    const { server, deps } = await rig(profile());
    server.seenAs = NAT;
    server.skewMs = -9_500;
    const r = await openService({ dir, profile: 'work', publicAddress: NAT }, deps);
    assert.equal(r.observedAddress, NAT);
    const p = await loadProfile(dir, 'work');
    assert.equal(p.observedAddress, NAT);
    assert.equal(p.clockOffsetMs, -9_500);
  });

  test('the stored offset corrects the knock time; the next open binds the observed address first', async () => {
    // The server's clock is ten minutes ahead: far outside the window without the stored correction.
    const { server, deps, clock } = await rig(profile({ clockOffsetMs: 600_000 }));
    server.seenAs = NAT;
    server.skewMs = 600_000;
    await openService({ dir, profile: 'work', publicAddress: NAT }, deps);
    assert.equal(server.sends.length, 1);
    clock.ms += 5_000;
    const r = await openService({ dir, profile: 'work' }, deps);
    assert.equal(r.boundSource, 'observed');
    assert.equal(server.accepted.length, 2);
    assert.equal(server.sends.length, 2);
  });

  test('a stale large offset: after the stored offset fails, the local clock as is gets a round', async () => {
    const { server, deps } = await rig(profile({ observedAddress: LOCAL, clockOffsetMs: 300_000 }));
    const r = await openService({ dir, profile: 'work', timeoutMs: 100 }, deps);
    assert.equal(server.sends.length, 4);
    assert.deepEqual(server.rejected, ['KNOCK_STALE', 'KNOCK_STALE', 'KNOCK_STALE']);
    assert.equal(r.clockOffsetMs, 0);
  });

  test('no reply and a clock that stepped back since the last save: CLOCK_SKEW', async () => {
    const { deps } = await rig(profile({ observedAddress: LOCAL }), { savedAt: T0 + 3_600_000 });
    await assert.rejects(openService({ dir, profile: 'work' }, { ...deps, transport: async () => null }),
      (e) => isTumblerError(e, 'CLOCK_SKEW') && /clock/.test((e as Error).message));
  });

  test('no reply message names the likely causes (clock among them), never the sequence', async () => {
    const { deps } = await rig(profile({ observedAddress: LOCAL }));
    await assert.rejects(openService({ dir, profile: 'work' }, { ...deps, transport: async () => null }), (e) => {
      const m = (e as Error).message;
      return isTumblerError(e, 'OPEN_NO_REPLY') && /clock/.test(m) && /re-enroll/.test(m) && !m.includes(String(FIRST.ports[0]));
    });
  });

  test('key kept off disk: the password is asked and the key derived', async () => {
    const password = 'correct horse battery staple';
    const key = await deriveDeviceKey(password, { salt: SALT, N: 1 << 14, r: 8, p: 1 });
    const p = profile();
    delete p.key;
    let asked = 0;
    const { server, deps } = await rig(p, { key, password: async () => { asked++; return password; } });
    const r = await openService({ dir, profile: 'work' }, deps);
    assert.equal(asked, 1);
    assert.equal(r.port, server.accepted[0]!.port);
    assert.equal((await loadProfile(dir, 'work')).key, undefined);
  });

  test('key kept off disk, wrong password: no reply, profile unchanged', async () => {
    const key = await deriveDeviceKey('correct horse battery staple', { salt: SALT, N: 1 << 14, r: 8, p: 1 });
    const p = profile({ observedAddress: LOCAL });
    delete p.key;
    const { deps } = await rig(p, { key, password: async () => 'wrong horse battery staple' });
    const before = fileOf();
    await assert.rejects(openService({ dir, profile: 'work', timeoutMs: 100 }, deps), (e) => isTumblerError(e, 'OPEN_NO_REPLY'));
    assert.equal(fileOf(), before);
  });

  test('two concurrent opens of one profile do not fork the sequence chain', async () => {
    const { server, deps } = await rig(profile({ observedAddress: LOCAL }));
    let t = T0;
    const d = { ...deps, now: () => (t += 700) };
    const [a, b] = await Promise.all([openService({ dir, profile: 'work' }, d), openService({ dir, profile: 'work' }, d)]);
    assert.notEqual(a.port, b.port);
    assert.equal(server.accepted.length, 2);
    assert.deepEqual((await loadProfile(dir, 'work')).sequence.ports, [...server.sequence.ports]);
  });

  test('IPv6: knock, reply and stored observed address', async () => {
    const { server, deps } = await rig(profile({ server: { address: '2001:db8::1', family: 6 } }));
    const r = await openService({ dir, profile: 'work' }, { ...deps, localAddress: async () => '2001:db8:0:0::2' });
    assert.equal(server.sends[0]!.family, 6);
    assert.equal(describeSyn(server.sends[0]!.packets[0]!).src, '2001:db8::2');
    assert.equal(r.observedAddress, '2001:db8::2');
    assert.equal((await loadProfile(dir, 'work')).observedAddress, '2001:db8::2');
  });

  test('missing profile: PROFILE_NOT_FOUND; unknown service: SERVICE_UNKNOWN; bad timeout: BAD_ARGUMENT', async () => {
    const { deps } = await rig(profile());
    await assert.rejects(openService({ dir, profile: 'nope' }, deps), (e) => isTumblerError(e, 'PROFILE_NOT_FOUND'));
    await assert.rejects(openService({ dir, profile: 'work', service: 'web' }, deps), (e) => isTumblerError(e, 'SERVICE_UNKNOWN'));
    await assert.rejects(openService({ dir, profile: 'work', timeoutMs: 5 }, deps), (e) => isTumblerError(e, 'BAD_ARGUMENT'));
    await assert.rejects(openService({ dir, profile: 'work', publicAddress: '2001:db8::1' }, deps), (e) => isTumblerError(e, 'BAD_ARGUMENT'));
  });

  test('service choice: the only one, else ssh, else an error', () => {
    assert.equal(pickService(profile({ services: { db: 3 } })).name, 'db');
    assert.equal(pickService(profile()).name, 'ssh');
    assert.throws(() => pickService(profile({ services: { db: 3, web: 4 } })), (e) => isTumblerError(e, 'SERVICE_REQUIRED'));
  });
});

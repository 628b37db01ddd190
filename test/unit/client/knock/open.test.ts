/**
 * The open flow against in-process servers made of the real protocol module (fake-server.ts), with
 * injected clock, randomness, transport, local address, family preference and password: probes,
 * NAT, address changes, clocks, gateways, dual stack, and one cause per failure.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openService, pickService, type OpenDeps, type OpenOptions } from '../../../../client/knock/open.js';
import { WAITS } from '../../../../client/knock/attempt.js';
import { describeSyn } from '../../../../client/knock/wire.js';
import { loadProfile, profilePath, saveProfile } from '../../../../client/state/profile.js';
import type { Profile } from '../../../../client/state/schema.js';
import { isTumblerError, TumblerError } from '../../../../shared/errors.js';
import { parseIpTcp } from '../../../../shared/packet/tcp.js';
import { keyCheck } from '../../../../shared/protocol/check.js';
import { deriveDeviceKey } from '../../../../shared/protocol/kdf.js';
import type { Sequence } from '../../../../shared/protocol/sequence.js';
import { FakeServer, route, seededRandom } from './fake-server.js';

const SERVER = '192.0.2.1';
const SERVER6 = '2001:db8::1';
const OTHER_GW = '198.51.100.1';
const LOCAL = '198.51.100.2';
const LOCAL6 = '2001:db8:5::2';
const NAT = '203.0.113.7';
const NAT2 = '203.0.113.8';
const KEY = Buffer.alloc(16, 0x42);
const SALT = Buffer.alloc(16, 0x24);
const FIRST: Sequence = { ports: [40010, 40500, 40900], tags: [0x11, 0x22, 0x33] };
const T0 = 1_800_000_000_000;
const T = 1000;

let dir: string;
let root: string;
before(() => { root = mkdtempSync(join(tmpdir(), 'tumbler-open-')); });
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
beforeEach(() => { dir = join(root, `p${n++}`); });

function profile(o: Partial<Profile> = {}): Profile {
  return {
    v: 2, name: 'work', user: 'alice', device: 'laptop', gateways: [[SERVER]], key: KEY.toString('base64'), keyCheck: keyCheck(KEY),
    kdf: { salt: SALT.toString('base64'), N: 1 << 14, r: 8, p: 1 },
    sequence: { ports: [...FIRST.ports], tags: [...FIRST.tags] }, services: { ssh: 1, db: 2 }, clockOffsetMs: 0, updatedAt: 0, ...o,
  };
}
/** What a profile knows after a knock from LOCAL that the server saw as `address`. */
const seen4 = (address: string, local = LOCAL): Profile['observed'] => ({ 4: { address, local } });

interface Rig { server: FakeServer; deps: OpenDeps; clock: { ms: number }; open: (o?: Partial<OpenOptions>, d?: Partial<OpenDeps>) => ReturnType<typeof openService> }

async function rig(p: Profile, o: { acceptStyle?: boolean; key?: Buffer; savedAt?: number; password?: () => Promise<string>; addresses?: string[];
  local?: Record<string, string>; servers?: (clock: { ms: number }) => FakeServer[] } = {}): Promise<Rig> {
  const clock = { ms: T0 };
  await saveProfile(dir, p, { now: () => o.savedAt ?? T0 - 60_000 });
  const server = new FakeServer(o.key ?? KEY, FIRST, () => clock.ms, new Set(o.addresses ?? [SERVER, SERVER6]));
  const servers = o.servers?.(clock) ?? [server];
  const locals = o.local ?? { 4: LOCAL, 6: LOCAL6 };
  const deps: OpenDeps = {
    now: () => clock.ms,
    random: seededRandom(3),
    transport: route(servers, o.acceptStyle),
    localAddress: async (_s, family) => locals[family]!,
    preferFamily: () => 6,
    password: o.password,
  };
  return { server, deps, clock, open: (oo = {}, dd = {}) => openService({ dir, profile: 'work', ...oo }, { ...deps, ...dd }) };
}

const fileOf = (): string => readFileSync(profilePath(dir, 'work'), 'utf8');
const rejects = (p: Promise<unknown>, code: string): Promise<void> => assert.rejects(p, (e) => isTumblerError(e, code));

describe('open flow: the common cases', () => {
  test('a known address, unchanged: one knock, one round trip; next sequence, offset, address and grant stored before it returns', async () => {
    const { server, open } = await rig(profile({ observed: seen4(LOCAL) }));
    server.skewMs = 4_321;
    const r = await open({ service: 'ssh' });
    assert.equal(server.sends.length, 1);
    assert.equal(server.probed.length, 0);
    assert.equal(r.port, server.accepted[0]!.port);
    assert.deepEqual([r.server, r.observedAddress, r.boundSource], [SERVER, LOCAL, 'observed']);
    const p = await loadProfile(dir, 'work');
    assert.deepEqual(p.sequence, { ports: [...server.sequence.ports], tags: [...server.sequence.tags] });
    assert.equal(p.clockOffsetMs, 4_321);
    assert.deepEqual(p.observed, seen4(LOCAL));
    assert.equal(p.lastAnswered, SERVER);
    assert.deepEqual(p.lastGrant, { port: r.port, service: 'ssh', expiresAt: r.expiresAt, server: SERVER });
    assert.equal(p.updatedAt, T0);
    assert.equal(p.lastSec, undefined);
    assert.equal(server.accepted[0]!.declaration.serviceId, 1);
  });

  test('a fresh profile: a probe first, then the knock bound to what it reported; the next open knocks at once', async () => {
    const { server, open, clock } = await rig(profile());
    const r = await open();
    assert.deepEqual(server.probed, [LOCAL]);
    assert.equal(server.sends.length, 2);
    assert.equal(r.boundSource, 'probed');
    clock.ms += 2_000;
    await open();
    assert.equal(server.sends.length, 3);
    assert.equal(server.accepted.length, 2);
  });

  test('behind NAT, first knock: probe, then a knock bound to the NAT\'s public address; no flag needed', async () => {
    const { server, open } = await rig(profile());
    server.seenAs = NAT;
    const r = await open();
    assert.deepEqual([r.observedAddress, r.boundAddress, r.boundSource], [NAT, NAT, 'probed']);
    assert.deepEqual((await loadProfile(dir, 'work')).observed, seen4(NAT));
    assert.equal(server.sends.length, 2);
  });

  test('the NAT\'s public address changed: the stale knock, a probe, the knock bound to the new address; one wait lost', async () => {
    const { server, open, clock } = await rig(profile({ observed: seen4(NAT) }));
    server.seenAs = NAT2;
    const r = await open({ timeoutMs: 400 });
    assert.equal(r.observedAddress, NAT2);
    assert.deepEqual(server.rejected, ['KNOCK_MAC']);
    assert.deepEqual(server.sends.map((s) => s.timeoutMs), [400, 400, 400]);
    assert.deepEqual((await loadProfile(dir, 'work')).observed, seen4(NAT2));
    // The knock after the probe carried a later second than the stale one, on a frozen clock.
    assert.deepEqual(server.knockSeconds, [Math.floor(T0 / 1000) + 1]);
    clock.ms += 1000;
    await open();
    assert.equal(server.accepted.length, 2);
  });

  test('this host moved to another network (another local address): probe first, no stale knock', async () => {
    const { server, open } = await rig(profile({ observed: seen4(NAT, '192.168.1.5') }));
    server.seenAs = NAT2;
    await open();
    assert.deepEqual(server.rejected, []);
    assert.equal(server.sends.length, 2);
  });

  test('a profile upgraded from format 1 (observed address, no local one): knocks with it at once and is saved as format 2', async () => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(profilePath(dir, 'work'), JSON.stringify({
      v: 1, name: 'work', server: { address: SERVER, family: 4 }, deviceId: 0, user: 'alice', key: KEY.toString('base64'),
      kdf: { salt: SALT.toString('base64'), N: 1 << 14, r: 8, p: 1 }, sequence: { ports: [...FIRST.ports], tags: [...FIRST.tags] },
      services: { ssh: 1 }, clockOffsetMs: 0, observedAddress: NAT, updatedAt: 0,
    }), { mode: 0o600 });
    const clock = { ms: T0 };
    const server = new FakeServer(KEY, FIRST, () => clock.ms);
    server.seenAs = NAT;
    await openService({ dir, profile: 'work' }, { now: () => clock.ms, random: seededRandom(3), transport: server.transport(), localAddress: async () => LOCAL });
    assert.equal(server.sends.length, 1);
    const saved = JSON.parse(fileOf()) as Profile;
    assert.equal(saved.v, 2);
    assert.deepEqual(saved.gateways, [[SERVER]]);
    assert.deepEqual(saved.observed, seen4(NAT));
  });
});

describe('open flow: losses and retries', () => {
  test('a lost reply: the probe shows nothing changed, the same knock again gets the stored reply; nothing new opens', async () => {
    const { server, open } = await rig(profile({ observed: seen4(LOCAL) }));
    server.dropReplies = 1;
    const r = await open({ timeoutMs: 400 });
    assert.equal(server.accepted.length, 1);
    assert.equal(r.port, server.accepted[0]!.port);
    const knocks = server.sends.filter((_, i) => i !== 1);
    knocks[1]!.packets.forEach((pkt, i) => assert.ok(pkt.equals(knocks[0]!.packets[i]!), 'the knock sent again is byte for byte the same'));
    assert.deepEqual(server.sends.map((s) => s.timeoutMs), [400, 400, 600]);
  });

  test('a reply sealed with another key is ignored (helper style: the wait counts as lost)', async () => {
    const { server, open } = await rig(profile({ observed: seen4(LOCAL) }));
    server.forgedFirst = 1;
    const r = await open();
    assert.equal(r.port, server.accepted[0]!.port);
    assert.notEqual(r.observedAddress, '192.0.2.99');
  });

  test('a reply sealed with another key is ignored (raw style: it keeps listening)', async () => {
    const { server, open } = await rig(profile({ observed: seen4(LOCAL) }), { acceptStyle: true });
    server.forgedFirst = 2;
    const r = await open();
    assert.equal(server.sends.length, 1);
    assert.equal(r.port, server.accepted[0]!.port);
  });

  test('two concurrent opens of one profile do not fork the sequence chain', async () => {
    const { server, deps } = await rig(profile({ observed: seen4(LOCAL) }));
    let t = T0;
    const d = { ...deps, now: () => (t += 700) };
    const [a, b] = await Promise.all([openService({ dir, profile: 'work' }, d), openService({ dir, profile: 'work' }, d)]);
    assert.notEqual(a.port, b.port);
    assert.equal(server.accepted.length, 2);
    assert.deepEqual((await loadProfile(dir, 'work')).sequence.ports, [...server.sequence.ports]);
  });

  test('after a failed run the next run still sends later seconds on the same sequence (kept in the profile), and recovers a lost grant', async () => {
    const { server, open, clock } = await rig(profile({ observed: seen4(LOCAL) }));
    // Run 1: the grant happens, every answer is lost.
    server.dropReplies = 99;
    await rejects(open({ timeoutMs: 100 }), 'SERVER_SILENT');
    assert.equal(server.accepted.length, 1);
    const kept = await loadProfile(dir, 'work');
    assert.equal(kept.lastSec, Math.floor(T0 / 1000));
    assert.equal(kept.lastProbeSec, Math.floor(T0 / 1000));
    assert.deepEqual(kept.sequence.ports, [...FIRST.ports]); // unchanged: no reply was read
    // Run 2, same wall-clock second: its seconds are still newer, so the knock recovers (§9c).
    server.dropReplies = 0;
    clock.ms += 100;
    const r = await open();
    assert.equal(r.port, server.accepted.at(-1)!.port);
    assert.equal(server.accepted.at(-1)!.mode, 'recovery');
    for (const all of [server.knockSeconds, server.probeSeconds]) {
      const secs = all.filter((x, i) => i === 0 || x !== all[i - 1]); // an identical retransmit repeats its second
      for (let i = 1; i < secs.length; i++) assert.ok(secs[i]! > secs[i - 1]!, `second ${secs[i]} after ${secs[i - 1]}`);
    }
  });
});

describe('open flow: one cause per failure', () => {
  test('no answer at all: SERVER_SILENT after the knock and the probe; the sequence and its date unchanged, the seconds used kept', async () => {
    const { server, open } = await rig(profile({ observed: seen4(LOCAL) }), { addresses: ['192.0.2.250'] });
    const before = await loadProfile(dir, 'work');
    await rejects(open(), 'SERVER_SILENT');
    assert.deepEqual(server.sends.map((s) => s.timeoutMs), [...WAITS.knockFirst, ...WAITS.probeAfterKnock].map((f) => f * T));
    const after = await loadProfile(dir, 'work');
    assert.deepEqual(after.sequence, before.sequence);
    assert.equal(after.updatedAt, before.updatedAt);
    assert.equal(after.lastSec, Math.floor(T0 / 1000));
  });

  test('a fresh profile and no answer: three probes, then SERVER_SILENT; the message names the gateway, never the sequence', async () => {
    const { server, open } = await rig(profile(), { addresses: ['192.0.2.250'] });
    await assert.rejects(open(), (e) => isTumblerError(e, 'SERVER_SILENT') && (e as Error).message.includes(SERVER) &&
      !(e as Error).message.includes(String(FIRST.ports[0])));
    assert.deepEqual(server.sends.map((s) => s.timeoutMs), WAITS.probeFirst.map((f) => f * T));
  });

  test('no answer and a clock that stepped back since the last save: CLOCK_SKEW', async () => {
    const { open } = await rig(profile({ observed: seen4(LOCAL) }), { savedAt: T0 + 3_600_000, addresses: ['192.0.2.250'] });
    await rejects(open({ timeoutMs: 100 }), 'CLOCK_SKEW');
  });

  test('the local clock 5 min ahead or behind the server: CLOCK_AHEAD / CLOCK_BEHIND from the probe\'s answer, no second knock', async () => {
    for (const [skew, code] of [[-300_000, 'CLOCK_AHEAD'], [300_000, 'CLOCK_BEHIND']] as const) {
      dir = join(root, `p${n++}`);
      const { server, open } = await rig(profile({ observed: seen4(LOCAL) }));
      server.skewMs = skew;
      await assert.rejects(open(), (e) => isTumblerError(e, code) && /5 min/.test((e as Error).message));
      assert.deepEqual(server.rejected, ['KNOCK_STALE']);
      assert.equal(server.probed.length, 1);
      assert.equal(server.accepted.length, 0);
    }
  });

  test('after a clock error, the same profile works as soon as the clock is right again', async () => {
    const { server, open, clock } = await rig(profile({ observed: seen4(LOCAL) }));
    clock.ms += 120_000; // the local clock jumps two minutes ahead; the server's stays
    server.skewMs = -120_000;
    await rejects(open(), 'CLOCK_AHEAD');
    clock.ms -= 118_000; // set right again, two seconds later
    server.skewMs = 0;
    const r = await open();
    assert.equal(r.port, server.accepted[0]!.port);
  });

  test('a clock offset skewed for good is corrected by the stored offset: one knock', async () => {
    const { server, open } = await rig(profile({ observed: seen4(LOCAL), clockOffsetMs: 600_000 }));
    server.skewMs = 600_000;
    await open();
    assert.equal(server.sends.length, 1);
  });

  test('a stale stored offset (the local clock was set right since): the probe\'s clock is used, and stored', async () => {
    const { server, open } = await rig(profile({ observed: seen4(LOCAL), clockOffsetMs: 300_000 }));
    server.skewMs = 250;
    const r = await open();
    assert.deepEqual(server.rejected, ['KNOCK_STALE']);
    assert.equal(r.clockOffsetMs, 250);
    assert.equal((await loadProfile(dir, 'work')).clockOffsetMs, 250);
  });

  test('a floor left by a run with a stale offset does not keep the knock out once the probe showed the clock is right', async () => {
    const { server, open } = await rig(profile({ observed: seen4(LOCAL), clockOffsetMs: 300_000, lastSec: Math.floor(T0 / 1000) + 305 }));
    const r = await open();
    assert.equal(r.clockOffsetMs, 0);
    assert.equal(server.accepted[0]!.declaration.timestamp, Math.floor(T0 / 1000));
  });

  test('--public-address: knocks with it at once; a wrong one is ADDRESS_MISMATCH', async () => {
    const a = await rig(profile());
    a.server.seenAs = NAT;
    const r = await a.open({ publicAddress: NAT });
    assert.deepEqual([r.boundSource, a.server.sends.length], ['public', 1]);
    dir = join(root, `p${n++}`);
    const b = await rig(profile());
    b.server.seenAs = NAT;
    await assert.rejects(b.open({ publicAddress: NAT2 }), (e) => isTumblerError(e, 'ADDRESS_MISMATCH') && (e as Error).message.includes(NAT));
    await rejects(b.open({ publicAddress: 'example.org' }), 'BAD_ARGUMENT');
    await rejects(b.open({ publicAddress: '2001:db8::99', gateway: SERVER }), 'BAD_ARGUMENT');
  });

  test('the server answers the probe but refuses the knock: KNOCK_REFUSED', async () => {
    const { server, open } = await rig(profile());
    server.refuseKnocks = true;
    await assert.rejects(open({ timeoutMs: 100 }), (e) => isTumblerError(e, 'KNOCK_REFUSED') && /ssh/.test((e as Error).message));
  });

  test('the NAT moves between the probe and the knock, and again: ADDRESS_UNSTABLE', async () => {
    const { server, open } = await rig(profile());
    server.seenAs = NAT;
    server.moveAfterProbe = { probes: 1, to: NAT2 };
    await assert.rejects(open({ timeoutMs: 100 }), (e) => isTumblerError(e, 'ADDRESS_UNSTABLE') && (e as Error).message.includes(NAT2));
  });

  test('key kept off disk: the password is asked and checked; a wrong one is PASSWORD_WRONG before anything is sent', async () => {
    const password = 'correct horse battery staple';
    const key = await deriveDeviceKey(password, { salt: SALT, N: 1 << 14, r: 8, p: 1 });
    const p = profile({ observed: seen4(LOCAL), keyCheck: keyCheck(key) });
    delete p.key;
    let asked = 0;
    const { server, open } = await rig(p, { key, password: async () => { asked++; return password; } });
    const r = await open();
    assert.equal(asked, 1);
    assert.equal(r.port, server.accepted[0]!.port);
    assert.equal((await loadProfile(dir, 'work')).key, undefined);
    const before = fileOf();
    await rejects(open({}, { password: async () => 'wrong horse battery staple' }), 'PASSWORD_WRONG');
    assert.equal(server.sends.length, 1);
    assert.equal(fileOf(), before);
  });
});

describe('open flow: gateways and families', () => {
  test('two gateways: the first silent, the second answers; it is tried first next time', async () => {
    const { server, open, clock } = await rig(profile({ gateways: [[SERVER], [OTHER_GW]], observed: seen4(LOCAL) }), { addresses: [OTHER_GW] });
    const r = await open({ timeoutMs: 100 });
    assert.equal(r.server, OTHER_GW);
    assert.deepEqual(server.sends.map((s) => s.dst), [SERVER, SERVER, SERVER, OTHER_GW]);
    assert.equal((await loadProfile(dir, 'work')).lastAnswered, OTHER_GW);
    clock.ms += 1000;
    await open();
    assert.equal(server.sends.at(-1)!.dst, OTHER_GW);
    assert.equal(server.sends.length, 5);
  });

  test('the host\'s SYN fields are read once per gateway address and shape every SYN sent to it', async () => {
    const { server, open } = await rig(profile({ gateways: [[SERVER], [OTHER_GW]], observed: seen4(LOCAL) }), { addresses: [OTHER_GW] });
    const read: string[] = [];
    const synFields = (_f: 4 | 6, target: string) => {
      read.push(target);
      return { window: target === SERVER ? 64_000 : 42_000, mss: 1400, wscale: 7, sackPermitted: true, timestamps: true };
    };
    await open({ timeoutMs: 100 }, { synFields });
    assert.deepEqual(read, [SERVER, OTHER_GW]);
    assert.equal(server.sends.length, 4);
    for (const s of server.sends) {
      for (const p of s.packets) assert.equal(parseIpTcp(p).window, s.dst === SERVER ? 64_000 : 42_000);
    }
  });

  test('dual stack: IPv6 first (the host prefers it); IPv6 blackholed → the same profile gets in over IPv4, then IPv4 first', async () => {
    const { server, open, clock } = await rig(profile({ gateways: [[SERVER, SERVER6]] }), { addresses: [SERVER] });
    const r = await open({ timeoutMs: 100 });
    assert.equal(r.server, SERVER);
    assert.deepEqual([...new Set(server.sends.map((s) => s.dst))], [SERVER6, SERVER]);
    assert.deepEqual(server.sends.filter((s) => s.dst === SERVER6).map((s) => s.family), [6, 6, 6]);
    clock.ms += 1000;
    const before = server.sends.length;
    await open();
    assert.equal(server.sends[before]!.dst, SERVER);
  });

  test('dual stack, the reverse: IPv4 blackholed, the host prefers IPv4 → in over IPv6; the observed address is kept per family', async () => {
    const { server, open } = await rig(profile({ gateways: [[SERVER, SERVER6]], observed: seen4(NAT) }), { addresses: [SERVER6] });
    const r = await open({ timeoutMs: 100 }, { preferFamily: () => 4 });
    assert.equal(r.server, SERVER6);
    assert.equal(server.sends[0]!.dst, SERVER);
    assert.equal(describeSyn(server.sends.at(-1)!.packets[0]!).src, LOCAL6);
    const p = await loadProfile(dir, 'work');
    assert.deepEqual(p.observed, { 4: { address: NAT, local: LOCAL }, 6: { address: LOCAL6, local: LOCAL6 } });
  });

  test('no IPv6 route: skipped at once; no route at all: NO_ROUTE', async () => {
    const noRoute = async (_s: string, f: 4 | 6): Promise<string> => {
      if (f === 6) throw new TumblerError('NO_ROUTE', 'no route');
      return LOCAL;
    };
    const { server, open } = await rig(profile({ gateways: [[SERVER6, SERVER]], observed: seen4(LOCAL) }));
    await open({}, { localAddress: noRoute });
    assert.deepEqual(server.sends.map((s) => s.dst), [SERVER]);
    await rejects(open({}, { localAddress: async () => { throw new TumblerError('NO_ROUTE', 'no route'); } }), 'NO_ROUTE');
  });

  test('--gateway picks one address; an address the profile does not have is GATEWAY_UNKNOWN', async () => {
    const { server, open } = await rig(profile({ gateways: [[SERVER], [OTHER_GW]], observed: seen4(LOCAL) }), { addresses: [SERVER, OTHER_GW] });
    const r = await open({ gateway: OTHER_GW });
    assert.equal(r.server, OTHER_GW);
    assert.deepEqual(server.sends.map((s) => s.dst), [OTHER_GW]);
    await rejects(open({ gateway: '203.0.113.50' }), 'GATEWAY_UNKNOWN');
    await rejects(open({ gateway: 'gw.example' }), 'BAD_ARGUMENT');
  });

  test('IPv6 only: knock, reply and the observed address', async () => {
    const { server, open } = await rig(profile({ gateways: [[SERVER6]] }));
    const r = await open();
    assert.ok(server.sends.every((s) => s.family === 6));
    assert.equal(describeSyn(server.sends[0]!.packets[0]!).src, LOCAL6);
    assert.equal(r.observedAddress, LOCAL6);
    assert.deepEqual((await loadProfile(dir, 'work')).observed, { 6: { address: LOCAL6, local: LOCAL6 } });
  });

  test('packets: ports[2] last, distinct ephemeral source ports, local source address, one destination', async () => {
    const { server, open } = await rig(profile());
    server.seenAs = NAT;
    await open({ publicAddress: NAT });
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
});

describe('open flow: arguments', () => {
  test('missing profile: PROFILE_NOT_FOUND; unknown service: SERVICE_UNKNOWN; bad timeout: BAD_ARGUMENT', async () => {
    const { open } = await rig(profile());
    await rejects(open({ profile: 'nope' }), 'PROFILE_NOT_FOUND');
    await rejects(open({ service: 'web' }), 'SERVICE_UNKNOWN');
    await rejects(open({ timeoutMs: 5 }), 'BAD_ARGUMENT');
  });

  test('service choice: the only one, else ssh, else an error', () => {
    assert.equal(pickService(profile({ services: { db: 3 } })).name, 'db');
    assert.equal(pickService(profile()).name, 'ssh');
    assert.throws(() => pickService(profile({ services: { db: 3, web: 4 } })), (e) => isTumblerError(e, 'SERVICE_REQUIRED'));
  });
});

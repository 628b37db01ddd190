/**
 * End to end, a fleet: two real tumblerd gateways (A in `srv`, B in `srb`, each with nftables,
 * libpcap and sshd) on one real PostgreSQL (Unix socket, reachable from both namespaces), and one
 * client (`tumbler` as the unprivileged user through the setuid helper). Enrolled once at A.
 * Assertions are what a user observes: a knock is answered or not, a connection succeeds or not,
 * and each gateway's kernel grant map. The world is test/e2e/world.ts with { fleet: true }, so a
 * further scenario file (client failover) can build the same one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ATTACKER_ADDR, CLIENT_ADDR, GATEWAY_B_ADDR, SERVER_ADDR, World, type Gateway } from './world.js';

const isRoot = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Opened { server: string; port: number; expiresAt: number; observedAddress: string }

describe('a fleet of two gateways on one PostgreSQL', { skip: !isRoot && 'needs root (network namespaces, PostgreSQL)' }, () => {
  let w: World;
  let alice: string;
  let bob: string;

  before(async () => {
    w = World.create('f', { fleet: true });
    w.writeConfig({ ttl: 60, grace: 30 });
    const m = w.a.admin(['migrate']);
    assert.equal(m.code, 0, m.stderr);
    alice = w.enroll('alice');
    bob = w.enroll('bob');
    await Promise.all([w.a.startDaemon(), w.b.startDaemon()]);
  });
  after(() => {
    w?.destroy();
  });

  /** The bundle lists both gateways; the next `open` of `profile` knocks `g` only (`--gateway`). */
  const target = new Map<string, Gateway>();
  const knockAt = (profile: string, g: Gateway): void => {
    target.set(profile, g);
  };
  const open = (profile: string, extra: string[] = []): { code: number | null; opened?: Opened; stderr: string } => {
    const g = target.get(profile);
    const r = w.client(['open', profile, '--json', ...(g ? ['--gateway', g.address] : []), ...extra]);
    return { code: r.code, opened: r.code === 0 ? (JSON.parse(r.stdout) as Opened) : undefined, stderr: r.stderr };
  };
  const asPackets = (syns: Array<{ dstPort: number; isn: number }>) => syns.slice(0, 3).map((s) => `${s.dstPort}:${s.isn}`).join(',');

  test('1. enrolled once: a knock at A opens A; the next sequence opens B (which learnt it from the push)', () => {
    knockAt(alice, w.a);
    const a = open(alice);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, a.opened!.port), 'connected');
    knockAt(alice, w.b);
    const b = open(alice);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(w.probe(w.ns.cli, GATEWAY_B_ADDR, b.opened!.port), 'connected');
    assert.equal(w.probe(w.ns.cli, GATEWAY_B_ADDR, 22), 'timeout', 'the real port stays closed');
    const list = w.b.admin(['grants', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const grants = JSON.parse(list.stdout) as Array<{ gateway: string; user: string }>;
    assert.deepEqual(new Set(grants.filter((g) => g.user === 'alice').map((g) => g.gateway)), new Set(['gw-a', 'gw-b']));
  });

  test('2. a knock captured on its way to A, sent to B after A consumed it, opens nothing at B', async () => {
    knockAt(alice, w.a);
    const { result, syns } = await w.captureKnockSyns(w.ns.srv, () => open(alice));
    assert.equal(result.code, 0, result.stderr);
    assert.ok(syns.length >= 3);
    const before = w.b.grantCount();
    for (const [ns, src] of [[w.ns.atk, ATTACKER_ADDR], [w.ns.cli, CLIENT_ADDR]] as const) {
      assert.equal(w.sendSyns(ns, src, GATEWAY_B_ADDR, ['--packets', asPackets(syns)]).code, 0);
    }
    await sleep(700);
    assert.equal(w.b.grantCount(), before, 'B opened nothing');
    assert.deepEqual(w.b.grantSources().filter((a) => a === ATTACKER_ADDR), [], 'no grant for the attacker at B');
    assert.equal(w.probe(w.ns.cli, GATEWAY_B_ADDR, result.opened!.port), 'timeout');
  });

  test('3. disabling a user at A\'s host stops that user at B at once; revoke --close-grants closes B\'s grants through B', async () => {
    knockAt(bob, w.b);
    const first = open(bob);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(w.probe(w.ns.cli, GATEWAY_B_ADDR, first.opened!.port), 'connected');
    const d = w.a.admin(['user', 'disable', 'bob']);
    assert.equal(d.code, 0, d.stderr);
    const refused = open(bob, ['--timeout', '1500']);
    assert.notEqual(refused.code, 0, 'B refuses the disabled user');
    const e = w.a.admin(['user', 'enable', 'bob']);
    assert.equal(e.code, 0, e.stderr);
    const again = open(bob);
    assert.equal(again.code, 0, again.stderr);
    const elements = w.b.grantCount();
    assert.ok(elements >= 1);
    const r = w.a.admin(['user', 'revoke', 'bob', '--close-grants']);
    if (r.code !== 0) await sleep(3000);
    assert.equal(r.code, 0, `${r.stderr}\n${w.b.daemonLog.slice(-4000)}\n${w.a.admin(['grants', 'list', '--all']).stdout}`);
    assert.equal(w.b.grantCount(), elements - 2, 'both of bob\'s grants left B\'s kernel');
    assert.equal(w.probe(w.ns.cli, GATEWAY_B_ADDR, again.opened!.port), 'timeout');
    const audit = JSON.parse(w.a.admin(['audit', '--user', 'bob', '--json']).stdout) as Array<{ gateway: string; event: string }>;
    assert.ok(audit.some((x) => x.event === 'knock' && x.gateway === 'gw-b'));
  });

  test('4. PostgreSQL stopped: knocks fail closed and both gateways keep running; restarted: knocks work again by themselves', async () => {
    knockAt(alice, w.a);
    const before = w.a.grantCount();
    w.pg!.pause();
    try {
      const down = open(alice, ['--timeout', '1500']);
      assert.notEqual(down.code, 0, 'no grant without a durable consumption');
      assert.equal(w.a.grantCount(), before);
      assert.equal(w.a.daemon!.exitCode, null);
      assert.equal(w.b.daemon!.exitCode, null);
    } finally {
      w.pg!.resume();
    }
    let ok: ReturnType<typeof open> | undefined;
    for (const until = Date.now() + 30_000; Date.now() < until;) {
      ok = open(alice, ['--timeout', '2000']);
      if (ok.code === 0) break;
      await sleep(500);
    }
    assert.equal(ok?.code, 0, ok?.stderr);
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, ok!.opened!.port), 'connected');
  });

  test('5. gateway A killed with SIGKILL: B goes on granting, and a plain `tumbler open` fails over to B by itself', async () => {
    knockAt(alice, w.a);
    const first = open(alice);
    assert.equal(first.code, 0, first.stderr); // A answered last: the profile tries A first from now on
    await w.a.killDaemon();
    target.delete(alice); // no --gateway: the client's own order
    const b = open(alice, ['--timeout', '300']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.opened!.server, GATEWAY_B_ADDR, 'granted by B after A stayed silent');
    assert.equal(w.probe(w.ns.cli, GATEWAY_B_ADDR, b.opened!.port), 'connected');
    const status = w.client(['status', alice, '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { lastAnswered: string }).lastAnswered, GATEWAY_B_ADDR, 'the profile remembers which gateway answered');
  });

  test('6. a gateway started while PostgreSQL is down waits (no exit, no restart loop) and serves once it is back', async () => {
    await w.b.stopDaemon();
    w.pg!.pause();
    try {
      await w.b.startDaemon({ ready: false });
      await w.b.waitForLog('"worker.started"', 20_000);
      const worker = w.b.workerPid()!;
      await sleep(3000);
      assert.equal(w.b.daemon!.exitCode, null, 'the monitor is still running');
      assert.equal(w.b.workerPid(), worker, 'the same worker: not restarted');
      process.kill(worker, 0); // still alive
    } finally {
      w.pg!.resume();
    }
    await w.b.waitForLog('"worker.ready"', 30_000);
    knockAt(alice, w.b);
    const o = open(alice);
    assert.equal(o.code, 0, o.stderr);
    assert.equal(w.probe(w.ns.cli, GATEWAY_B_ADDR, o.opened!.port), 'connected');
  });
});

/**
 * The drift guard against the real kernel, as root, in network namespaces made here (fixtures.ts):
 * another tool flushes the ruleset, deletes our table, a chain, a map, a rule (nftables) or our
 * chains, jumps and ipsets (iptables) while the guard runs → the service port is silent again
 * within 1 s (a prober in the attacker's namespace connects every few ms; every attempt from 1 s
 * after the deletion on gets no answer), live grants still work, each kind is counted. With no
 * event source the periodic check alone does it. A tool that keeps deleting gets bounded repairs
 * and few log lines; a grant another tool deleted is not brought back by a later repair.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { createCounters, type MonitorCounters } from '../../../../server/monitor/counters.js';
import { createFirewall } from '../../../../server/monitor/firewall/backend.js';
import type { FirewallBackend, Grant } from '../../../../server/monitor/firewall/types.js';
import { GrantBook } from '../../../../server/monitor/grant-book.js';
import { FirewallGuard } from '../../../../server/monitor/guard.js';
import { createLogger } from '../../../../server/log.js';
import { inNs, isRoot } from '../../../helpers/netns.js';
import { Prober, proberArgv } from '../../../helpers/prober.js';
import { CLIENT4, CLIENT6, SERVER4, SERVER6, SSH_PORT, buildTopology, eventually, testConfig, type Topology } from './firewall/fixtures.js';

const BUDGET_MS = 1_000;

interface Rig {
  fw: FirewallBackend;
  book: GrantBook;
  counters: MonitorCounters;
  guard: FirewallGuard;
  logged: Array<{ event: string }>;
}

async function rig(t: Topology, kind: 'nftables' | 'iptables', table: string, events = true): Promise<Rig> {
  const fw = createFirewall(testConfig(kind), { table, commandPrefix: inNs(t.srv) });
  await fw.install();
  const book = new GrantBook();
  const counters = createCounters();
  const logged: Array<{ event: string }> = [];
  const log = createLogger({ format: 'json', component: 'monitor', perSec: 1000, write: (l) => logged.push(JSON.parse(l)) });
  const guard = new FirewallGuard({ firewall: fw, book, counters, log, backend: kind, table, commandPrefix: inNs(t.srv), events });
  guard.start();
  return { fw, book, counters, guard, logged };
}

/** A grant as the Dispatcher opens one: recorded, written, confirmed. */
async function openGrant(r: Rig, g: Grant): Promise<void> {
  r.book.reserve(g, Date.now());
  await r.fw.open(g);
  r.book.confirm(g, Date.now());
}

/** Run `act` (another tool's command) with a prober on the service port; assert silence within the budget. */
async function silentAgainWithin(tc: TestContext, t: Topology, what: string, act: () => void): Promise<void> {
  const prober = new Prober(t.lab.spawn(t.atk, proberArgv(SERVER4, SSH_PORT)));
  try {
    await eventually(async () => prober.all.length >= 3, 10_000); // it runs
    act();
    const since = Date.now();
    const w = await prober.window(since, BUDGET_MS, { settle: 8 });
    tc.diagnostic(`${what}: last connection through at ${w.lastOpenAt === null ? 'none' : `+${w.lastOpenAt - since} ms`}`);
    assert.ok(w.attemptsAfter >= 8, `${what}: the prober made too few attempts (${w.attemptsAfter})`);
    assert.ok(w.silentAfter, `${what}: the service port still answered ${BUDGET_MS} ms after the deletion`);
  } finally {
    prober.stop();
  }
}

describe('drift guard, nftables (root, network namespaces)', { skip: !isRoot && 'needs root' }, () => {
  let t: Topology;
  let r: Rig;
  const TABLE = 'tmbgrd';
  const nft = (cmd: string): void => { t.lab.must(t.srv, ['nft', cmd]); };
  const g4: Grant = { family: 4, address: CLIENT4, port: 50010, service: 'ssh', ttlSec: 120 };
  const g6: Grant = { family: 6, address: CLIENT6, port: 50011, service: 'ssh', ttlSec: 120 };

  before(async () => {
    t = await buildTopology('modg');
    r = await rig(t, 'nftables', TABLE);
    await openGrant(r, g4);
    await openGrant(r, g6);
  });
  after(async () => {
    await r?.guard.stop();
    await r?.fw.dispose().catch(() => {});
    t?.lab.cleanup();
  });

  const handleOf = (chain: string, text: string): string => {
    const line = t.lab.must(t.srv, ['nft', '-a', 'list', 'chain', 'inet', TABLE, chain]).split('\n').find((l) => l.includes(text));
    return /# handle (\d+)/.exec(line ?? '')![1]!;
  };
  const cases: Array<[string, () => string, string]> = [
    ['nft flush ruleset', () => 'flush ruleset', 'table'],
    ['delete our table', () => `delete table inet ${TABLE}`, 'table'],
    ['delete the input chain', () => `delete chain inet ${TABLE} input`, 'chain'],
    ['delete one rule (the drop of the service port)', () => `delete rule inet ${TABLE} input handle ${handleOf('input', 'tcp dport 22 drop')}`, 'rule'],
    ['delete a map (its rule first)', () => `flush chain inet ${TABLE} prerouting; delete map inet ${TABLE} grants4`, 'map'],
  ];
  for (const [what, cmd, kind] of cases) {
    test(`${what}: silent again within 1 s, live grants work, counted as ${kind}`, async (tc) => {
      const before = { ...r.counters.drift };
      const text = cmd();
      // The drop of port 22 is also written per target (ip daddr . tcp dport): delete that rule too,
      // so that deleting "one rule" really opens the port.
      const twin = what.startsWith('delete one rule') ? `; delete rule inet ${TABLE} input handle ${handleOf('input', 'ip daddr . tcp dport {')}` : '';
      await silentAgainWithin(tc, t, what, () => nft(text + twin));
      assert.deepEqual(await r.fw.inspect(), []);
      assert.equal(r.counters.firewallIntact, true);
      assert.ok((r.counters.drift[kind] ?? 0) > (before[kind] ?? 0), JSON.stringify(r.counters.drift));
      const [cli4, cli6, atk] = await Promise.all([
        t.lab.tcpProbe(t.cli, SERVER4, g4.port), t.lab.tcpProbe(t.cli, SERVER6, g6.port), t.lab.tcpProbe(t.atk, SERVER4, g4.port),
      ]);
      assert.deepEqual([cli4.status, cli6.status, atk.status], ['connected', 'connected', 'timeout']);
    });
  }

  test('a grant another tool deletes is dropped from the record and not brought back by a later repair', async () => {
    const gone: Grant = { family: 4, address: CLIENT4, port: 50020, service: 'ssh', ttlSec: 120 };
    await openGrant(r, gone);
    nft(`delete element inet ${TABLE} grants4 { ${CLIENT4} . ${gone.port} }`);
    assert.ok(await eventually(async () => !r.book.isLive(gone, Date.now()), 5_000), 'still in the record');
    assert.equal(r.counters.grantsClosedElsewhere, 1);
    nft('flush ruleset');
    assert.ok(await eventually(async () => (await r.fw.inspect()).length === 0 && (await r.fw.list()).length === 2, 5_000));
    assert.equal((await t.lab.tcpProbe(t.cli, SERVER4, gone.port)).status, 'timeout');
    assert.equal((await t.lab.tcpProbe(t.cli, SERVER4, g4.port)).status, 'connected');
  });

  test('a tool that keeps deleting: repairs back off, few log lines, and the table is back once it stops', async (tc) => {
    const repairs = r.counters.repairs + r.counters.repairFailures;
    const lines = r.logged.filter((l) => l.event === 'firewall.drift').length;
    const until = Date.now() + 3_000;
    let deletions = 0;
    let restoredAt = 0;
    // What an open that found our table gone waits for: one round, not the end of the fight.
    const waiting = r.guard.restoreNow().then(() => { restoredAt = Date.now(); });
    for (let i = 0; i < 200 && Date.now() < until; i++) {
      if (t.lab.run(t.srv, ['nft', 'delete', 'table', 'inet', TABLE]).code === 0) deletions++;
      await new Promise((res) => setTimeout(res, 20));
    }
    await waiting;
    assert.ok(restoredAt > 0 && restoredAt < until, 'restoreNow waited for the tool to stop');
    const done = r.counters.repairs + r.counters.repairFailures - repairs;
    tc.diagnostic(`${deletions} deletions in 3 s, ${done} repairs tried`);
    assert.ok(deletions >= 2, 'the table was never back to delete');
    assert.ok(done <= 20, `${done} repairs in 3 s`);
    assert.ok(r.logged.filter((l) => l.event === 'firewall.drift').length - lines <= 5, 'drift lines are rate-limited');
    assert.ok(await eventually(async () => (await r.fw.inspect()).length === 0, 5_000), 'not repaired after the tool stopped');
    assert.equal((await t.lab.tcpProbe(t.atk, SERVER4, SSH_PORT)).status, 'timeout');
  });

  test('a check is not held back by a sync waiting out its gap', async (tc) => {
    await r.guard.stop();
    const log = createLogger({ format: 'json', component: 'monitor', perSec: 10 });
    r = { ...r, guard: new FirewallGuard({ firewall: r.fw, book: r.book, counters: r.counters, log, backend: 'nftables', table: TABLE, commandPrefix: inNs(t.srv), timings: { syncGapMs: 10_000 } }) };
    r.guard.start();
    const x: Grant = { family: 4, address: CLIENT4, port: 50030, service: 'ssh', ttlSec: 120 };
    const y: Grant = { ...x, port: 50031 };
    await openGrant(r, x);
    await openGrant(r, y);
    nft(`delete element inet ${TABLE} grants4 { ${CLIENT4} . ${x.port} }`);
    assert.ok(await eventually(async () => !r.book.isLive(x, Date.now()), 5_000), 'first sync');
    // The next sync must wait 10 s; the flush right after must not.
    nft(`delete element inet ${TABLE} grants4 { ${CLIENT4} . ${y.port} }`);
    await silentAgainWithin(tc, t, 'flush while a sync waits', () => nft('flush ruleset'));
    assert.equal((await t.lab.tcpProbe(t.cli, SERVER4, g4.port)).status, 'connected');
  });

  test('without events (no nft monitor) the periodic check alone restores within 1 s', async (tc) => {
    await r.guard.stop();
    r = { ...r, guard: new FirewallGuard({ firewall: r.fw, book: r.book, counters: r.counters, log: createLogger({ format: 'json', component: 'monitor', perSec: 10 }), backend: 'nftables', table: TABLE, commandPrefix: inNs(t.srv), events: false }) };
    r.guard.start();
    assert.equal(r.guard.eventSourcePid, undefined);
    await silentAgainWithin(tc, t, 'flush ruleset, no events', () => nft('flush ruleset'));
    assert.equal((await t.lab.tcpProbe(t.cli, SERVER4, g4.port)).status, 'connected');
  });
});

describe('drift guard, iptables (root, network namespaces)', { skip: !isRoot && 'needs root' }, () => {
  let t: Topology;
  let r: Rig;
  const g4: Grant = { family: 4, address: CLIENT4, port: 50010, service: 'ssh', ttlSec: 120 };
  const ipt = (...argv: string[]): void => { t.lab.must(t.srv, argv); };

  before(async () => {
    t = await buildTopology('modgi');
    r = await rig(t, 'iptables', 'tmbgi');
    await openGrant(r, g4);
  });
  after(async () => {
    await r?.guard.stop();
    await r?.fw.dispose().catch(() => {});
    t?.lab.cleanup();
  });

  const cases: Array<[string, () => void]> = [
    ['iptables -F (the jump from INPUT goes)', () => ipt('iptables', '-F', 'INPUT')],
    ['our input chain flushed', () => ipt('iptables', '-F', 'TMBGI-INPUT')],
    ['every chain flushed and deleted, every set destroyed', () => {
      // Synchronous commands: the guard (in this process) sees them only once all have run.
      for (const tool of ['iptables', 'ip6tables']) for (const table of ['filter', 'nat']) { ipt(tool, '-t', table, '-F'); ipt(tool, '-t', table, '-X'); }
      ipt('ipset', 'destroy');
    }],
  ];
  for (const [what, act] of cases) {
    test(`${what}: silent again within 1 s, the live grant works`, async (tc) => {
      await silentAgainWithin(tc, t, what, act);
      assert.deepEqual(await r.fw.inspect(), []);
      const [cli, atk] = await Promise.all([t.lab.tcpProbe(t.cli, SERVER4, g4.port), t.lab.tcpProbe(t.atk, SERVER4, g4.port)]);
      assert.deepEqual([cli.status, atk.status], ['connected', 'timeout']);
    });
  }

  test('counted by kind', () => {
    assert.ok((r.counters.drift.jump ?? 0) >= 1 && (r.counters.drift.rule ?? 0) >= 1 && (r.counters.drift.chain ?? 0) >= 1 && (r.counters.drift.ipset ?? 0) >= 1, JSON.stringify(r.counters.drift));
    assert.ok(r.counters.grantsRestored >= 1);
  });

  test('a grant deleted with ipset is dropped from the record by the periodic sync', async () => {
    const gone: Grant = { family: 4, address: CLIENT4, port: 50020, service: 'ssh', ttlSec: 120 };
    await openGrant(r, gone);
    ipt('ipset', 'del', 'tmbgi-1-4', `${CLIENT4},tcp:${gone.port}`);
    assert.ok(await eventually(async () => !r.book.isLive(gone, Date.now()), 15_000), 'still in the record');
    assert.equal(r.book.isLive(g4, Date.now()), true);
  });
});

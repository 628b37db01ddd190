/**
 * Never fail open, end to end (issue 12 §1, §3): the real tumblerd (monitor + unprivileged worker)
 * in network namespaces, with nftables and then with the iptables backend. While it runs, another
 * tool flushes the ruleset / deletes our table, a chain, a map, a rule (or, for iptables, flushes
 * the chains, deletes the jumps, destroys the ipsets) → the service port is silent again within
 * 1 s (a prober in the attacker's namespace connects every few ms; every attempt from 1 s after the
 * deletion on gets no answer), the live grant still works, and a knock after the restore works.
 * And: an edited config file followed by a worker restart does not become a kill loop — the
 * worker runs the monitor's copy of the config until tumblerd is restarted.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Prober, proberArgv } from '../helpers/prober.js';
import { until } from '../helpers/until.js';
import { FORWARD_RANGE, SERVER_ADDR, World } from './world.js';

const isRoot = process.getuid?.() === 0;
const BUDGET_MS = 1_000;
const TTL = 120;

interface Opened { port: number }

/** Shared steps of both backends' worlds. */
function steps(get: () => { w: World; profile: string }) {
  const open = (): Opened => {
    const { w, profile } = get();
    const r = w.client(['open', profile, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Opened;
  };
  /** `act` runs another tool's commands in the server's namespace; the service port must be silent again within the budget. */
  const silentAgainWithin = async (tc: TestContext, what: string, act: () => void): Promise<void> => {
    const { w } = get();
    const prober = new Prober(w.spawnTracked('ip', ['netns', 'exec', w.ns.atk, ...proberArgv(SERVER_ADDR, 22)], { stdio: 'pipe' }));
    try {
      await until(() => prober.all.length >= 3, 10_000, 50);
      act();
      const since = Date.now();
      const win = await prober.window(since, BUDGET_MS, { settle: 8 });
      tc.diagnostic(`${what}: last connection through at ${win.lastOpenAt === null ? 'none' : `+${win.lastOpenAt - since} ms`}`);
      assert.ok(win.attemptsAfter >= 8, `${what}: the prober made too few attempts`);
      assert.ok(win.silentAfter, `${what}: the service port still answered ${BUDGET_MS} ms after the deletion`);
    } finally {
      prober.stop();
    }
  };
  /** The grant opened before still works, the attacker still gets nothing, and a new knock works. */
  const grantsStillWork = (live: Opened): void => {
    const { w } = get();
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, live.port), 'connected');
    assert.equal(w.probe(w.ns.atk, SERVER_ADDR, live.port), 'timeout');
    const next = open();
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, next.port), 'connected');
  };
  return { open, silentAgainWithin, grantsStillWork };
}

describe('never fail open: nftables', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  let w: World;
  let profile: string;
  let live: Opened;
  const s = steps(() => ({ w, profile }));
  const nft = (cmd: string): void => {
    const r = w.nft([cmd]);
    assert.equal(r.code, 0, r.stderr);
  };
  const handleOf = (text: string): string => /# handle (\d+)/.exec(w.nft(['-a', 'list', 'chain', 'inet', 'tumbler', 'input']).stdout.split('\n').find((l) => l.includes(text)) ?? '')![1]!;

  before(async () => {
    w = World.create('m');
    w.writeConfig({ ttl: TTL });
    profile = w.enroll('alice');
    await w.startDaemon();
    live = s.open();
  });
  after(() => w?.destroy());

  const cases: Array<[string, () => string]> = [
    ['nft flush ruleset', () => 'flush ruleset'],
    ['nft delete table inet tumbler', () => 'delete table inet tumbler'],
    ['nft delete chain inet tumbler input', () => 'delete chain inet tumbler input'],
    ['nft delete rule (both drops of port 22)', () => `delete rule inet tumbler input handle ${handleOf('tcp dport 22 drop')}; delete rule inet tumbler input handle ${handleOf('ip daddr . tcp dport {')}`],
    ['nft delete map inet tumbler grants4 (its rule first)', () => 'flush chain inet tumbler prerouting; delete map inet tumbler grants4'],
  ];
  for (const [what, cmd] of cases) {
    test(`${what}: the service port is silent again within 1 s; the live grant and a new knock work`, async (tc) => {
      const text = cmd();
      await s.silentAgainWithin(tc, what, () => nft(text));
      s.grantsStillWork(live);
    });
  }

  test('an edited config and a restarted worker: the worker keeps the monitor\'s config, no kill loop', async () => {
    const original = readFileSync(w.configPath, 'utf8');
    const other = `${FORWARD_RANGE.first + 1000}-${FORWARD_RANGE.last + 1000}`;
    writeFileSync(w.configPath, original.replace(`ports = "${FORWARD_RANGE.first}-${FORWARD_RANGE.last}"`, `ports = "${other}"`));
    try {
      assert.notEqual(readFileSync(w.configPath, 'utf8'), original);
      const before = w.workerPid();
      const from = w.daemonLog.length;
      process.kill(before!, 'SIGKILL');
      await w.waitForLog('"worker.ready"', 20_000, from);
      const worker = w.workerPid();
      assert.notEqual(worker, before);
      // The new worker grants from the range the monitor enforces (the old file's), and the grant works.
      const o = s.open();
      assert.ok(o.port >= FORWARD_RANGE.first && o.port <= FORWARD_RANGE.last, String(o.port));
      assert.equal(w.probe(w.ns.cli, SERVER_ADDR, o.port), 'connected');
      assert.equal(w.workerPid(), worker, 'the worker was killed');
      assert.equal(w.daemon!.exitCode, null);
    } finally {
      writeFileSync(w.configPath, original);
    }
  });
});

describe('never fail open: iptables', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  let w: World;
  let profile: string;
  let live: Opened;
  const s = steps(() => ({ w, profile }));
  const ipt = (...argv: string[]): void => {
    const r = w.inServer(argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  };

  before(async () => {
    w = World.create('n');
    w.writeConfig({ ttl: TTL, firewall: 'iptables' });
    profile = w.enroll('bob');
    await w.startDaemon();
    live = s.open();
  });
  after(() => w?.destroy());

  const cases: Array<[string, () => void]> = [
    ['iptables -F (every filter chain, our jump and rules included)', () => ipt('iptables', '-F')],
    ['iptables -D INPUT -j TUMBLER-INPUT (the jump)', () => ipt('iptables', '-D', 'INPUT', '-j', 'TUMBLER-INPUT')],
    ['chains flushed and deleted in both families, ipsets destroyed', () => {
      // Eight commands in a row: the monitor would repair between them (and make the next fail),
      // so they land while it is stopped, as if at once; the budget runs from SIGCONT.
      const monitor = w.daemon!.pid!;
      process.kill(monitor, 'SIGSTOP');
      try {
        for (const tool of ['iptables', 'ip6tables']) for (const table of ['filter', 'nat']) { ipt(tool, '-t', table, '-F'); ipt(tool, '-t', table, '-X'); }
        ipt('ipset', 'destroy');
      } finally {
        process.kill(monitor, 'SIGCONT');
      }
    }],
  ];
  for (const [what, act] of cases) {
    test(`${what}: the service port is silent again within 1 s; the live grant and a new knock work`, async (tc) => {
      await s.silentAgainWithin(tc, what, act);
      s.grantsStillWork(live);
    });
  }
});

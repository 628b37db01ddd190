/**
 * The iptables + ipset backend against the real kernel, as root, in network namespaces made here
 * (fixtures.ts; this host's iptables may be the nf_tables or the legacy flavour): per-source
 * DNAT, silence, break-glass, gateway, IPv6, refresh, reconcile, kernel-side expiry with no
 * tumblerd process alive, established sessions outliving their grant, the admin's rules untouched.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isTumblerError } from '../../../../../shared/errors.js';
import { createFirewall, type FirewallBackend } from '../../../../../server/monitor/firewall/backend.js';
import { inNs, isRoot } from '../../../../helpers/netns.js';
import {
  ATTACKER4, CLIENT4, CLIENT6, FORWARD, KNOCK, SERVER4, SERVER6, SSH_PORT,
  buildTopology, eventually, testConfig, type Topology,
} from './fixtures.js';

const TABLE = 'tmbipt';
const cfg = testConfig('iptables');

describe('iptables backend (root, network namespaces)', { skip: !isRoot && 'needs root' }, () => {
  let t: Topology;
  let fw: FirewallBackend;
  let adminRulesBefore = '';
  const newBackend = (): FirewallBackend => createFirewall(cfg, { table: TABLE, commandPrefix: inNs(t.srv) });
  /** The rules of both families that are not ours (an empty built-in table appearing is no change). */
  const adminRules = (): string => ['iptables-save', 'ip6tables-save']
    .map((tool) => `${tool}\n${t.lab.must(t.srv, [tool]).split('\n').filter((l) => l.startsWith('-A ') && !/TMBIPT/.test(l)).join('\n')}`)
    .join('\n');

  before(async () => {
    t = await buildTopology('fwipt');
    t.lab.must(t.srv, ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT']);
    t.lab.must(t.srv, ['iptables', '-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '9998', '-j', 'REDIRECT', '--to-ports', '9999']);
    t.lab.must(t.srv, ['ip6tables', '-A', 'FORWARD', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT']);
    adminRulesBefore = adminRules();
    fw = newBackend();
    await fw.install();
  });

  after(async () => {
    await fw?.dispose().catch(() => {});
    t?.lab.cleanup();
  });

  test('install is idempotent: one jump per hook, grants kept', async () => {
    await fw.open({ family: 4, address: CLIENT4, port: 50001, service: 'ssh', ttlSec: 60 });
    await fw.install();
    await fw.install();
    const v4 = t.lab.must(t.srv, ['iptables-save']);
    for (const jump of ['-A PREROUTING -j TMBIPT-PRE', '-A INPUT -j TMBIPT-INPUT', '-A FORWARD -j TMBIPT-FORWARD']) {
      assert.equal(v4.split('\n').filter((l) => l === jump).length, 1, jump);
    }
    const g = (await fw.list()).find((x) => x.port === 50001);
    assert.deepEqual(g && { address: g.address, service: g.service }, { address: CLIENT4, service: 'ssh' });
    assert.equal(await fw.close(4, CLIENT4, 50001), true);
    assert.equal(await fw.close(4, CLIENT4, 50001), false);
  });

  test('a grant opens the forward port only for its source; service, knock and forward ports stay silent', async () => {
    await fw.open({ family: 4, address: CLIENT4, port: 50010, service: 'ssh', ttlSec: 30 });
    const [cli, atk, ssh, knock, fwd, control] = await Promise.all([
      t.lab.tcpProbe(t.cli, SERVER4, 50010),
      t.lab.tcpProbe(t.atk, SERVER4, 50010),
      t.lab.tcpProbe(t.cli, SERVER4, SSH_PORT),
      t.lab.tcpProbe(t.cli, SERVER4, KNOCK.first + 7),
      t.lab.tcpProbe(t.cli, SERVER4, FORWARD.last),
      t.lab.tcpProbe(t.cli, SERVER4, 9),
    ]);
    assert.deepEqual(cli, { status: 'connected', banner: 'srv-ssh' });
    assert.equal(atk.status, 'timeout');
    assert.equal(ssh.status, 'timeout');
    assert.equal(knock.status, 'timeout');
    assert.equal(fwd.status, 'timeout');
    assert.equal(control.status, 'refused');
  });

  test('break-glass, gateway and IPv6', async () => {
    await fw.open({ family: 4, address: CLIENT4, port: 50020, service: 'web', ttlSec: 30 });
    await fw.open({ family: 6, address: CLIENT6, port: 50030, service: 'ssh', ttlSec: 30 });
    const [adm, gw, gwAtk, v6, v6Atk, v6Direct] = await Promise.all([
      t.lab.tcpProbe(t.adm, SERVER4, SSH_PORT),
      t.lab.tcpProbe(t.cli, SERVER4, 50020),
      t.lab.tcpProbe(t.atk, SERVER4, 50020),
      t.lab.tcpProbe(t.cli, SERVER6, 50030),
      t.lab.tcpProbe(t.atk, SERVER6, 50030),
      t.lab.tcpProbe(t.cli, SERVER6, SSH_PORT),
    ]);
    assert.deepEqual(adm, { status: 'connected', banner: 'srv-ssh' });
    assert.deepEqual(gw, { status: 'connected', banner: 'int-web' });
    assert.equal(gwAtk.status, 'timeout');
    assert.deepEqual(v6, { status: 'connected', banner: 'srv-ssh' });
    assert.equal(v6Atk.status, 'timeout');
    assert.equal(v6Direct.status, 'timeout');
  });

  test('open refreshes the timeout and can move a key to another service', async () => {
    await fw.open({ family: 4, address: ATTACKER4, port: 50040, service: 'ssh', ttlSec: 10 });
    await fw.open({ family: 4, address: ATTACKER4, port: 50040, service: 'web', ttlSec: 200 });
    const gs = (await fw.list()).filter((x) => x.port === 50040);
    assert.equal(gs.length, 1);
    assert.equal(gs[0]!.service, 'web');
    assert.ok(gs[0]!.expiresInSec > 150);
    assert.deepEqual(await t.lab.tcpProbe(t.atk, SERVER4, 50040), { status: 'connected', banner: 'int-web' });
    assert.equal(await fw.close(4, ATTACKER4, 50040), true);
  });

  test('reconcile removes orphans and keeps the listed ones', async () => {
    const before = (await fw.list()).map(({ family, address, port }) => ({ family, address, port }));
    await fw.open({ family: 4, address: '198.51.100.5', port: 50101, service: 'ssh', ttlSec: 60 });
    await fw.open({ family: 4, address: '198.51.100.6', port: 50102, service: 'web', ttlSec: 60 });
    await fw.open({ family: 6, address: '2001:db8:1::7', port: 50103, service: 'ssh', ttlSec: 60 });
    const keep = [...before, { family: 6 as const, address: '2001:DB8:1::7', port: 50103 }];
    assert.equal(await fw.reconcile(keep), 2);
    const key = (g: { family: number; address: string; port: number }): string => `${g.family}|${g.address}|${g.port}`;
    assert.deepEqual((await fw.list()).map(key).sort(), [...before, { family: 6, address: '2001:db8:1::7', port: 50103 }].map(key).sort());
  });

  test('bad values are refused before any tool runs', async () => {
    const base = { family: 4 as const, address: CLIENT4, port: 50050, service: 'ssh', ttlSec: 30 };
    for (const g of [{ ...base, address: '198.51.100.2,tcp:1 timeout 0\ncreate x' }, { ...base, port: 40000 }, { ...base, ttlSec: 1.5 }]) {
      await assert.rejects(fw.open(g), (e: unknown) => isTumblerError(e, 'FIREWALL_BAD_VALUE'));
    }
    await assert.rejects(fw.open({ ...base, family: 6, address: CLIENT6, service: 'web' }), (e: unknown) => isTumblerError(e, 'FIREWALL_NO_TARGET'));
  });

  test('cost of open() (diagnostic, not asserted)', async (tc) => {
    const n = 300;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fw.open({ family: 4, address: `198.51.100.${20 + (i % 200)}`, port: 50200 + i, service: 'ssh', ttlSec: 60 });
    tc.diagnostic(`open(): ${((performance.now() - t0) / n).toFixed(2)} ms each (through the long-lived ipset child)`);
    assert.equal(await fw.reconcile((await fw.list()).filter((g) => g.port < 50200 || g.port >= 50500)), n);
  });

  test('inspect: intact after install; each deletion reported by kind; install restores chains, rules and jumps', async () => {
    await fw.install();
    assert.deepEqual(await fw.inspect(), []);
    const grants = [
      { family: 4 as const, address: CLIENT4, port: 50110, service: 'ssh', ttlSec: 60 },
      { family: 4 as const, address: CLIENT4, port: 50111, service: 'web', ttlSec: 60 },
      { family: 6 as const, address: CLIENT6, port: 50112, service: 'ssh', ttlSec: 60 },
    ];
    for (const g of grants) await fw.open(g);
    const ipt = (...argv: string[]): void => { t.lab.must(t.srv, argv); };
    const wipeAll = (): void => {
      for (const tool of ['iptables', 'ip6tables']) for (const table of ['filter', 'nat']) { ipt(tool, '-t', table, '-F'); ipt(tool, '-t', table, '-X'); }
      ipt('ipset', 'destroy');
    };
    const cases: Array<[string, () => void, string, number[]]> = [
      ['a jump', () => ipt('iptables', '-D', 'INPUT', '-j', 'TMBIPT-INPUT'), 'jump iptables filter INPUT -> TMBIPT-INPUT', []],
      ['one rule', () => ipt('iptables', '-D', 'TMBIPT-INPUT', '-p', 'tcp', '--dport', `${KNOCK.first}:${KNOCK.last}`, '-j', 'DROP'), 'rule iptables filter TMBIPT-INPUT', []],
      ['one chain', () => { ipt('ip6tables', '-D', 'FORWARD', '-j', 'TMBIPT-FORWARD'); ipt('ip6tables', '-F', 'TMBIPT-FORWARD'); ipt('ip6tables', '-X', 'TMBIPT-FORWARD'); }, 'chain ip6tables filter TMBIPT-FORWARD', []],
      ['a set (its chain first)', () => {
        ipt('iptables', '-t', 'nat', '-D', 'PREROUTING', '-j', 'TMBIPT-PRE'); ipt('iptables', '-t', 'nat', '-F', 'TMBIPT-PRE'); ipt('iptables', '-t', 'nat', '-X', 'TMBIPT-PRE');
        ipt('ipset', 'destroy', 'tmbipt-1-4');
      }, 'chain iptables nat TMBIPT-PRE, ipset tmbipt-1-4', [50110]],
      ['everything (tables flushed, chains deleted, sets destroyed)', wipeAll, [
        'chain iptables filter TMBIPT-FORWARD', 'chain iptables filter TMBIPT-INPUT', 'chain iptables nat TMBIPT-PRE',
        'chain ip6tables filter TMBIPT-FORWARD', 'chain ip6tables filter TMBIPT-INPUT', 'chain ip6tables nat TMBIPT-PRE',
        'ipset tmbipt-1-4', 'ipset tmbipt-2-4', 'ipset tmbipt-1-6'].join(', '), [50110, 50111, 50112]],
    ];
    for (const [what, act, expected, lostPorts] of cases) {
      act();
      const drift = await fw.inspect();
      assert.equal(drift.map((d) => `${d.kind} ${d.name}`).sort().join(', '), expected.split(', ').sort().join(', '), what);
      const lost = grants.filter((g) => fw.lostWith(drift, g));
      assert.deepEqual(lost.map((g) => g.port), lostPorts, what);
      await fw.install();
      assert.deepEqual(await fw.inspect(), [], what);
      assert.deepEqual(await fw.openMany(lost), lost.map(() => null));
      assert.equal((await fw.list()).filter((g) => g.port >= 50110 && g.port <= 50112).length, 3, what);
      assert.equal((await t.lab.tcpProbe(t.atk, SERVER4, SSH_PORT)).status, 'timeout', what);
    }
    // The admin's own rules went with the wipe: put them back for the checks that follow.
    ipt('iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT');
    ipt('iptables', '-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '9998', '-j', 'REDIRECT', '--to-ports', '9999');
    ipt('ip6tables', '-A', 'FORWARD', '-p', 'tcp', '--dport', '9999', '-j', 'ACCEPT');
    await fw.install(); // our jumps first again
    adminRulesBefore = adminRules();
    await fw.reconcile([]);
  });

  test('openMany: one ipset write for many; on a complaint one by one, outcomes in order', async () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ family: 4 as const, address: `198.51.100.${(i % 100) + 100}`, port: 50300 + i, service: i % 2 ? 'web' : 'ssh', ttlSec: 60 }));
    assert.deepEqual(await fw.openMany(many), many.map(() => null));
    assert.equal((await fw.list()).filter((g) => g.port >= 50300 && g.port < 50500).length, 200);
    const mixed = [
      { family: 4 as const, address: CLIENT4, port: 50501, service: 'ssh', ttlSec: 60 },
      { family: 4 as const, address: CLIENT4, port: 40001, service: 'ssh', ttlSec: 60 },
      { family: 6 as const, address: CLIENT6, port: 50502, service: 'web', ttlSec: 60 },
      { family: 6 as const, address: CLIENT6, port: 50503, service: 'ssh', ttlSec: 60 },
    ];
    assert.deepEqual((await fw.openMany(mixed)).map((o) => o?.code ?? null), [null, 'FIREWALL_BAD_VALUE', 'FIREWALL_NO_TARGET', null]);
    // ipset complains about the batch (a set gone): each grant alone, each with its own error.
    t.lab.must(t.srv, ['ip6tables', '-t', 'nat', '-F', 'TMBIPT-PRE']);
    t.lab.must(t.srv, ['ipset', 'destroy', 'tmbipt-1-6']);
    const outcomes = await fw.openMany([mixed[0]!, { ...mixed[3]!, port: 50504 }]);
    assert.deepEqual(outcomes.map((o) => o?.code ?? null), [null, 'FIREWALL_NOT_INSTALLED']);
    await fw.install();
    await fw.reconcile([]);
  });

  test('the kernel closes a grant after its TTL with no tumblerd process alive; an established session survives', async () => {
    await fw.open({ family: 4, address: CLIENT4, port: 50070, service: 'ssh', ttlSec: 2 });
    const session = t.lab.tcpClient(t.cli, SERVER4, 50070);
    assert.equal(await session.connected(), 'srv-ssh');
    await fw.dispose();
    const gone = await eventually(async () => !t.lab.must(t.srv, ['ipset', 'save']).includes(':50070'), 6_000);
    assert.ok(gone, 'member still present after its timeout');
    fw = newBackend();
    assert.equal((await t.lab.tcpProbe(t.cli, SERVER4, 50070)).status, 'timeout');
    assert.equal(await session.exchange('after expiry'), 'after expiry');
    session.close();
  });

  test('uninstall removes our chains, jumps and sets only', async () => {
    await fw.open({ family: 4, address: CLIENT4, port: 50080, service: 'ssh', ttlSec: 30 });
    await fw.uninstall();
    await fw.uninstall(); // absent: not an error
    const all = t.lab.must(t.srv, ['iptables-save']) + t.lab.must(t.srv, ['ip6tables-save']);
    assert.doesNotMatch(all, /TMBIPT/);
    assert.doesNotMatch(t.lab.must(t.srv, ['ipset', 'list', '-n']), /tmbipt/);
    assert.equal(adminRules(), adminRulesBefore);
    assert.deepEqual(await fw.list(), []);
    assert.equal(await fw.close(4, CLIENT4, 50080), false);
    await assert.rejects(fw.open({ family: 4, address: CLIENT4, port: 50080, service: 'ssh', ttlSec: 30 }), (e: unknown) => isTumblerError(e, 'FIREWALL_NOT_INSTALLED'));
  });
});

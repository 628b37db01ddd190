/**
 * The nftables backend against the real kernel, as root, in network namespaces made here
 * (fixtures.ts): per-source DNAT, silence of the service, knock and forward ports (no answer at
 * all, not even a RST), break-glass, gateway, IPv6, refresh, reconcile, kernel-side expiry with no
 * tumblerd process alive, established sessions outliving their grant, and another table left alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isTumblerError } from '../../../../../shared/errors.js';
import { createFirewall, type FirewallBackend } from '../../../../../server/monitor/firewall/backend.js';
import { NftablesBackend } from '../../../../../server/monitor/firewall/nftables.js';
import { inNs, isRoot } from '../../../../helpers/netns.js';
import {
  ATTACKER4, CLIENT4, CLIENT6, FORWARD, KNOCK, SERVER4, SERVER6, SSH_PORT,
  buildTopology, eventually, testConfig, type Topology,
} from './fixtures.js';

const TABLE = 'tmbfw';
const cfg = testConfig('nftables');
const OTHER = 'add table inet othertest; add chain inet othertest c { type filter hook input priority 10; policy accept; }; add rule inet othertest c tcp dport 9999 counter accept';

describe('nftables backend (root, network namespaces)', { skip: !isRoot && 'needs root' }, () => {
  let t: Topology;
  let fw: FirewallBackend;
  let otherBefore = '';
  const nft = (...args: string[]): string => t.lab.must(t.srv, ['nft', ...args]);
  const newBackend = (): FirewallBackend => createFirewall(cfg, { table: TABLE, commandPrefix: inNs(t.srv) });

  before(async () => {
    t = await buildTopology('fwnft');
    t.lab.must(t.srv, ['nft', OTHER]);
    otherBefore = nft('-a', 'list', 'table', 'inet', 'othertest');
    fw = newBackend();
    await fw.install();
  });

  after(async () => {
    await fw?.dispose().catch(() => {});
    t?.lab.cleanup();
  });

  test('install is idempotent and keeps existing grants', async () => {
    await fw.open({ family: 4, address: CLIENT4, port: 50001, service: 'ssh', ttlSec: 60 });
    await fw.install();
    await fw.install();
    const g = (await fw.list()).find((x) => x.port === 50001);
    assert.equal(g?.address, CLIENT4);
    assert.equal(g?.service, 'ssh');
    assert.equal(await fw.close(4, CLIENT4, 50001), true);
    assert.equal(await fw.close(4, CLIENT4, 50001), false);
  });

  test('a grant opens the forward port only for its source', async () => {
    await fw.open({ family: 4, address: CLIENT4, port: 50010, service: 'ssh', ttlSec: 30 });
    const [cli, atk] = await Promise.all([
      t.lab.tcpProbe(t.cli, SERVER4, 50010),
      t.lab.tcpProbe(t.atk, SERVER4, 50010),
    ]);
    assert.deepEqual(cli, { status: 'connected', banner: 'srv-ssh' });
    assert.equal(atk.status, 'timeout'); // dropped: no SYN-ACK, no RST
  });

  test('service port, knock range and unmapped forward ports give no answer at all', async () => {
    const [ssh, knock, knockLast, fwd, control] = await Promise.all([
      t.lab.tcpProbe(t.cli, SERVER4, SSH_PORT),
      t.lab.tcpProbe(t.cli, SERVER4, KNOCK.first + 5),
      t.lab.tcpProbe(t.atk, SERVER4, KNOCK.last),
      t.lab.tcpProbe(t.cli, SERVER4, FORWARD.last),
      t.lab.tcpProbe(t.cli, SERVER4, 9), // not ours: the kernel answers with a RST
    ]);
    assert.equal(ssh.status, 'timeout');
    assert.equal(knock.status, 'timeout');
    assert.equal(knockLast.status, 'timeout');
    assert.equal(fwd.status, 'timeout');
    assert.equal(control.status, 'refused');
  });

  test('a break-glass source reaches the service port directly, others do not', async () => {
    const [adm, admKnock, atk] = await Promise.all([
      t.lab.tcpProbe(t.adm, SERVER4, SSH_PORT),
      t.lab.tcpProbe(t.adm, SERVER4, KNOCK.first),
      t.lab.tcpProbe(t.atk, SERVER4, SSH_PORT),
    ]);
    assert.deepEqual(adm, { status: 'connected', banner: 'srv-ssh' });
    assert.equal(admKnock.status, 'timeout');
    assert.equal(atk.status, 'timeout');
  });

  test('gateway: a grant to a service on an internal host is forwarded', async () => {
    await fw.open({ family: 4, address: CLIENT4, port: 50020, service: 'web', ttlSec: 30 });
    const [cli, atk] = await Promise.all([t.lab.tcpProbe(t.cli, SERVER4, 50020), t.lab.tcpProbe(t.atk, SERVER4, 50020)]);
    assert.deepEqual(cli, { status: 'connected', banner: 'int-web' });
    assert.equal(atk.status, 'timeout');
  });

  test('IPv6: a grant opens only for its source; the service port stays closed', async () => {
    await fw.open({ family: 6, address: CLIENT6, port: 50030, service: 'ssh', ttlSec: 30 });
    const [cli, atk, direct] = await Promise.all([
      t.lab.tcpProbe(t.cli, SERVER6, 50030),
      t.lab.tcpProbe(t.atk, SERVER6, 50030),
      t.lab.tcpProbe(t.cli, SERVER6, SSH_PORT),
    ]);
    assert.deepEqual(cli, { status: 'connected', banner: 'srv-ssh' });
    assert.equal(atk.status, 'timeout');
    assert.equal(direct.status, 'timeout');
    const g = (await fw.list()).find((x) => x.family === 6 && x.port === 50030);
    assert.deepEqual(g && { address: g.address, service: g.service }, { address: CLIENT6, service: 'ssh' });
    // Another spelling of the same address is the same grant.
    assert.equal(await fw.close(6, '2001:DB8:1:0:0:0:0:2', 50030), true);
  });

  test('open refreshes: a new timeout, and a new target for an existing key', async () => {
    await fw.open({ family: 4, address: ATTACKER4, port: 50040, service: 'ssh', ttlSec: 10 });
    await fw.open({ family: 4, address: ATTACKER4, port: 50040, service: 'web', ttlSec: 200 });
    const g = (await fw.list()).find((x) => x.port === 50040);
    assert.equal(g?.service, 'web');
    assert.ok(g.expiresInSec > 150, `expires in ${g.expiresInSec}`);
    assert.deepEqual(await t.lab.tcpProbe(t.atk, SERVER4, 50040), { status: 'connected', banner: 'int-web' });
    await fw.open({ family: 4, address: ATTACKER4, port: 50040, service: 'web', ttlSec: 5 });
    const h = (await fw.list()).find((x) => x.port === 50040);
    assert.ok(h !== undefined && h.expiresInSec <= 5, `expires in ${h?.expiresInSec}`);
    assert.equal(await fw.close(4, ATTACKER4, 50040), true);
  });

  test('reconcile removes orphans and keeps the listed ones', async () => {
    const before = (await fw.list()).map(({ family, address, port }) => ({ family, address, port }));
    await fw.open({ family: 4, address: '198.51.100.5', port: 50101, service: 'ssh', ttlSec: 60 });
    await fw.open({ family: 4, address: '198.51.100.6', port: 50102, service: 'ssh', ttlSec: 60 });
    await fw.open({ family: 6, address: '2001:db8:1::7', port: 50103, service: 'ssh', ttlSec: 60 });
    const keep = [...before, { family: 4 as const, address: '198.51.100.5', port: 50101 }, { family: 4 as const, address: '203.0.113.99', port: 50999 }];
    assert.equal(await fw.reconcile(keep), 2);
    const after = (await fw.list()).map((g) => `${g.family}|${g.address}|${g.port}`).sort();
    assert.deepEqual(after, [...before, keep[before.length]!].map((g) => `${g.family}|${g.address}|${g.port}`).sort());
    assert.equal(await fw.reconcile(keep), 0);
  });

  test('values that could become nft syntax are refused before nft sees them', async () => {
    const base = { family: 4 as const, address: CLIENT4, port: 50050, service: 'ssh', ttlSec: 30 };
    const bad = [
      { ...base, address: '198.51.100.2 } ; flush ruleset' },
      { ...base, address: '2001:db8::2' }, // family mismatch
      { ...base, address: 'fe80::1%c0', family: 6 as const },
      { ...base, service: 'ssh" ; flush ruleset ; "' },
      { ...base, port: 40000 }, // knock range, not forward range
      { ...base, port: 50050.5 },
      { ...base, ttlSec: 0 },
      { ...base, ttlSec: 301 }, // above max_ttl
    ];
    for (const g of bad) await assert.rejects(fw.open(g), (e: unknown) => isTumblerError(e, 'FIREWALL_BAD_VALUE'), JSON.stringify(g));
    await assert.rejects(fw.open({ ...base, service: 'nosuch' }), (e: unknown) => isTumblerError(e, 'FIREWALL_NO_TARGET'));
    await assert.rejects(fw.open({ ...base, family: 6, address: CLIENT6, service: 'web' }), (e: unknown) => isTumblerError(e, 'FIREWALL_NO_TARGET'));
    assert.ok(!(await fw.list()).some((g) => g.port === 50050));
  });

  test('cost of open() through the long-lived nft child (diagnostic, not asserted)', async (tc) => {
    const n = 300;
    let t0 = performance.now();
    for (let i = 0; i < n; i++) await fw.open({ family: 4, address: `198.51.100.${20 + (i % 200)}`, port: 50200 + i, service: 'ssh', ttlSec: 60 });
    const sequential = (performance.now() - t0) / n;
    t0 = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => fw.open({ family: 4, address: `198.51.100.${20 + (i % 200)}`, port: 50600 + i, service: 'ssh', ttlSec: 60 })));
    const pipelined = (performance.now() - t0) / n;
    tc.diagnostic(`open(): ${sequential.toFixed(3)} ms each awaited one by one, ${pipelined.toFixed(3)} ms each when ${n} are pipelined`);
    const ours = (await fw.list()).filter((g) => g.port >= 50200 && g.port < 50900);
    assert.equal(ours.length, 2 * n);
    const keep = (await fw.list()).filter((g) => g.port < 50200 || g.port >= 50900);
    assert.equal(await fw.reconcile(keep), 2 * n);
  });

  test('a dead nft child is replaced on the next request', async () => {
    const b = fw as NftablesBackend;
    await b.open({ family: 4, address: CLIENT4, port: 50060, service: 'ssh', ttlSec: 30 });
    const pid = (b as unknown as { session: { pid?: number } }).session.pid;
    assert.ok(pid !== undefined);
    process.kill(pid, 'SIGKILL');
    await eventually(async () => (b as unknown as { session: { pid?: number } }).session.pid === undefined, 2_000);
    assert.equal(await b.close(4, CLIENT4, 50060), true);
  });

  test("another tool's DNAT is not a grant: a REDIRECT or DNAT to the service port stays silent", async () => {
    // Before issue 12 §5 our input chain accepted every DNAT'd connection (`ct status dnat accept`).
    nft('add table inet foreign; add chain inet foreign pre { type nat hook prerouting priority dstnat - 10; policy accept; }; '
      + `add rule inet foreign pre tcp dport 2222 redirect to :${SSH_PORT}; add rule inet foreign pre ip daddr ${SERVER4} tcp dport 2223 dnat ip to ${SERVER4}:${SSH_PORT}`);
    try {
      const [redirected, dnatted] = await Promise.all([t.lab.tcpProbe(t.cli, SERVER4, 2222), t.lab.tcpProbe(t.atk, SERVER4, 2223)]);
      assert.equal(redirected.status, 'timeout');
      assert.equal(dnatted.status, 'timeout');
      // Our own DNAT still gets through.
      await fw.open({ family: 4, address: CLIENT4, port: 50090, service: 'ssh', ttlSec: 30 });
      assert.deepEqual(await t.lab.tcpProbe(t.cli, SERVER4, 50090), { status: 'connected', banner: 'srv-ssh' });
    } finally {
      nft('delete table inet foreign');
    }
  });

  test('inspect: intact after install; each deletion reported by kind; install restores the rules and keeps the grants', async () => {
    await fw.install();
    assert.deepEqual(await fw.inspect(), []);
    await fw.open({ family: 4, address: CLIENT4, port: 50110, service: 'ssh', ttlSec: 60 });
    await fw.open({ family: 6, address: CLIENT6, port: 50111, service: 'ssh', ttlSec: 60 });
    const handleOf = (chain: string, text: string): string => {
      const line = nft('-a', 'list', 'chain', 'inet', TABLE, chain).split('\n').find((l) => l.includes(text));
      return /# handle (\d+)/.exec(line ?? '')![1]!;
    };
    const g4 = { family: 4 as const, address: CLIENT4, port: 50110, service: 'ssh', ttlSec: 60 };
    const g6 = { family: 6 as const, address: CLIENT6, port: 50111, service: 'ssh', ttlSec: 60 };
    const cases: Array<[string, string, string]> = [
      ['one rule', `delete rule inet ${TABLE} input handle ${handleOf('input', `dport ${KNOCK.first}-${KNOCK.last} drop`)}`, 'rule input'],
      ['one chain', `delete chain inet ${TABLE} forward`, 'chain forward'],
      ['a map (its rule first)', `flush chain inet ${TABLE} prerouting; delete map inet ${TABLE} grants4`, 'rule prerouting, map grants4'],
      ['the table', `delete table inet ${TABLE}`, `table inet ${TABLE}`],
      ['the whole ruleset', 'flush ruleset', `table inet ${TABLE}`],
    ];
    for (const [what, cmd, expected] of cases) {
      nft(cmd);
      const drift = await fw.inspect();
      assert.equal(drift.map((d) => `${d.kind} ${d.name}`).sort().join(', '), expected.split(', ').sort().join(', '), what);
      const lost = [g4, g6].filter((g) => fw.lostWith(drift, g)).map((g) => g.family);
      assert.deepEqual(lost, expected.includes('table') ? [4, 6] : expected.includes('grants4') ? [4] : [], what);
      await fw.install();
      assert.deepEqual(await fw.inspect(), [], what);
      for (const g of [g4, g6]) if (fw.lostWith(drift, g)) await fw.open(g);
      assert.deepEqual((await fw.list()).filter((g) => g.port === 50110 || g.port === 50111).length, 2, what);
      assert.equal((await t.lab.tcpProbe(t.atk, SERVER4, SSH_PORT)).status, 'timeout', what);
    }
    nft(OTHER); // the flush took the other table too
    otherBefore = nft('-a', 'list', 'table', 'inet', 'othertest');
    await fw.reconcile([]);
  });

  test('install: a map another tool re-created with another type is replaced only when asked (fresh)', async () => {
    nft(`flush chain inet ${TABLE} prerouting; delete map inet ${TABLE} grants4; add map inet ${TABLE} grants4 { type ipv4_addr : ipv4_addr; }`);
    await assert.rejects(fw.install(), (e: unknown) => isTumblerError(e, 'FIREWALL_NFT'));
    await fw.install({ fresh: true });
    assert.deepEqual(await fw.inspect(), []);
    await fw.open({ family: 4, address: CLIENT4, port: 50112, service: 'ssh', ttlSec: 30 });
    assert.deepEqual(await t.lab.tcpProbe(t.cli, SERVER4, 50112), { status: 'connected', banner: 'srv-ssh' });
    await fw.reconcile([]);
  });

  test('openMany: one transaction for many; on failure one by one, outcomes in order', async () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ family: 4 as const, address: `198.51.100.${(i % 100) + 100}`, port: 50300 + i, service: 'ssh', ttlSec: 60 }));
    assert.deepEqual(await fw.openMany(many), many.map(() => null));
    assert.equal((await fw.list()).filter((g) => g.port >= 50300 && g.port < 50500).length, 200);
    // An existing key with another target makes the batch's `create` fail: each is then opened
    // alone (the existing one is refreshed to its new target); a bad value fails only itself.
    await fw.open({ family: 4, address: ATTACKER4, port: 50500, service: 'ssh', ttlSec: 60 });
    const mixed = [
      { family: 4 as const, address: CLIENT4, port: 50501, service: 'ssh', ttlSec: 60 },
      { family: 4 as const, address: ATTACKER4, port: 50500, service: 'web', ttlSec: 60 },
      { family: 4 as const, address: CLIENT4, port: 40001, service: 'ssh', ttlSec: 60 },
      { family: 6 as const, address: CLIENT6, port: 50502, service: 'ssh', ttlSec: 60 },
    ];
    const outcomes = await fw.openMany(mixed);
    assert.deepEqual(outcomes.map((o) => o?.code ?? null), [null, null, 'FIREWALL_BAD_VALUE', null]);
    assert.equal((await fw.list()).find((g) => g.port === 50500)?.service, 'web');
    assert.deepEqual(await t.lab.tcpProbe(t.atk, SERVER4, 50500), { status: 'connected', banner: 'int-web' });
    await fw.reconcile([]);
  });

  test('a full map: FIREWALL_FULL, not a generic failure', async () => {
    const full = 'tmbfull';
    nft(`add table inet ${full}; add map inet ${full} grants4 { type ipv4_addr . inet_service : ipv4_addr . inet_service; flags timeout; size 2; }`);
    const small = createFirewall(cfg, { table: full, commandPrefix: inNs(t.srv) }); // not installed: its map is the small one
    try {
      const g = (i: number) => ({ family: 4 as const, address: CLIENT4, port: 50600 + i, service: 'ssh', ttlSec: 30 });
      await small.open(g(0));
      await small.open(g(1));
      await assert.rejects(small.open(g(2)), (e: unknown) => isTumblerError(e, 'FIREWALL_FULL'));
      assert.deepEqual((await small.openMany([g(3)])).map((o) => o?.code), ['FIREWALL_FULL']);
    } finally {
      await small.dispose();
      nft(`delete table inet ${full}`);
    }
  });

  test('the kernel closes a grant after its TTL with no tumblerd process alive; an established session survives', async () => {
    await fw.open({ family: 4, address: CLIENT4, port: 50070, service: 'ssh', ttlSec: 2 });
    const session = t.lab.tcpClient(t.cli, SERVER4, 50070);
    assert.equal(await session.connected(), 'srv-ssh');
    assert.equal(await session.exchange('before'), 'before');
    await fw.dispose(); // the long-lived nft child ends: nothing of ours runs now
    const gone = await eventually(async () => !nft('list', 'map', 'inet', TABLE, 'grants4').includes('50070'), 6_000);
    assert.ok(gone, 'element still present after its timeout');
    fw = newBackend();
    assert.ok(!(await fw.list()).some((g) => g.port === 50070));
    assert.equal((await t.lab.tcpProbe(t.cli, SERVER4, 50070)).status, 'timeout');
    assert.equal(await session.exchange('after expiry'), 'after expiry');
    session.close();
  });

  test('uninstall removes our table only; the other table is untouched throughout', async () => {
    await fw.open({ family: 4, address: CLIENT4, port: 50080, service: 'ssh', ttlSec: 30 });
    await fw.reconcile([]);
    assert.equal(nft('-a', 'list', 'table', 'inet', 'othertest'), otherBefore);
    await fw.uninstall();
    await fw.uninstall(); // absent: not an error
    assert.equal(t.lab.run(t.srv, ['nft', 'list', 'table', 'inet', TABLE]).code, 1);
    assert.equal(nft('-a', 'list', 'table', 'inet', 'othertest'), otherBefore);
    assert.deepEqual(await fw.list(), []);
    assert.equal(await fw.close(4, CLIENT4, 50080), false);
    await assert.rejects(fw.open({ family: 4, address: CLIENT4, port: 50080, service: 'ssh', ttlSec: 30 }), (e: unknown) => isTumblerError(e, 'FIREWALL_NOT_INSTALLED'));
    // Without our table the service port answers again (the listener is there): the drops were ours.
    assert.equal((await t.lab.tcpProbe(t.cli, SERVER4, SSH_PORT)).status, 'connected');
  });
});

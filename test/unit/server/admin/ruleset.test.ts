import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iptablesDropRisk, nftDropRisks } from '../../../../server/admin/ruleset.js';

const own = { family: 'inet', table: 'tumbler' };
const both = new Set(['input', 'forward'] as const);
const chain = (family: string, table: string, name: string, hook?: string, policy = 'accept'): unknown =>
  ({ chain: { family, table, name, handle: 1, ...(hook ? { type: 'filter', hook, prio: 0, policy } : {}) } });
const rule = (family: string, table: string, ch: string, handle: number, expr: unknown[]): unknown => ({ rule: { family, table, chain: ch, handle, expr } });
const dnatAccept = [{ match: { op: 'in', left: { ct: { key: 'status' } }, right: 'dnat' } }, { accept: null }];
const estAccept = [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } }, { accept: null }];
const ssh = { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 } };
const rs = (...items: unknown[]): unknown => ({ nftables: [{ metainfo: { version: '1.0.6' } }, ...items] });

test('policy drop without a ct status dnat accept is a risk, with the rule to add', () => {
  const r = nftDropRisks(rs(chain('inet', 'filter', 'input', 'input', 'drop'), rule('inet', 'filter', 'input', 2, estAccept)), own, both);
  assert.equal(r.length, 1);
  assert.equal(r[0]!.why, 'policy drop');
  assert.equal(r[0]!.fix, 'nft insert rule inet filter input ct status dnat accept');
});

test('an accept of ct status dnat before any drop makes the chain safe', () => {
  const r = nftDropRisks(rs(
    chain('inet', 'filter', 'input', 'input', 'drop'),
    rule('inet', 'filter', 'input', 2, estAccept),
    rule('inet', 'filter', 'input', 3, dnatAccept),
    rule('inet', 'filter', 'input', 4, [ssh, { drop: null }]),
    chain('ip', 'other', 'fw', 'forward', 'drop'),
    rule('ip', 'other', 'fw', 5, [{ match: { op: '==', left: { '&': [{ ct: { key: 'status' } }, 'dnat'] }, right: 'dnat' } }, { accept: null }]),
  ), own, both);
  assert.deepEqual(r, []);
});

test('drop or reject rules before the accept, also through a jump, are risks; our own table and other hooks are ignored', () => {
  const r = nftDropRisks(rs(
    chain('inet', 'filter', 'input', 'input'),
    rule('inet', 'filter', 'input', 2, [ssh, { reject: { type: 'tcp reset' } }]),
    chain('ip', 'other', 'fw', 'forward'),
    chain('ip', 'other', 'sub'),
    rule('ip', 'other', 'fw', 3, [{ jump: { target: 'sub' } }]),
    rule('ip', 'other', 'sub', 4, [{ drop: null }]),
    chain('inet', 'tumbler', 'input', 'input', 'drop'),
    chain('inet', 'filter', 'out', 'output', 'drop'),
    chain('bridge', 'br', 'input', 'input', 'drop'),
  ), own, both);
  assert.deepEqual(r.map((x) => `${x.table}/${x.chain}`), ['inet filter/input', 'ip other/fw']);
  assert.match(r[1]!.why, /jump to chain "sub"/);
});

test('only the hooks grant traffic crosses are looked at', () => {
  const r = nftDropRisks(rs(chain('inet', 'filter', 'forward', 'forward', 'drop')), own, new Set(['input'] as const));
  assert.deepEqual(r, []);
  assert.deepEqual(nftDropRisks({ nope: 1 }, own, both), []);
});

test('iptables: DROP policy or rule before a ctstate DNAT accept is a risk', () => {
  assert.equal(iptablesDropRisk('-P INPUT ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n', 'INPUT'), null);
  assert.equal(iptablesDropRisk('-P INPUT DROP\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT\n', 'INPUT'), null);
  const r = iptablesDropRisk('-P INPUT DROP\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n', 'INPUT');
  assert.equal(r?.why, 'policy DROP');
  assert.equal(r?.fix, 'iptables -I INPUT 1 -m conntrack --ctstate DNAT -j ACCEPT');
  assert.match(iptablesDropRisk('-P FORWARD ACCEPT\n-A FORWARD -j REJECT\n', 'FORWARD')?.why ?? '', /REJECT/);
});

test('iptables: our own chain jumped to before any drop makes the chain safe (it accepts DNAT first)', () => {
  const own = 'TUMBLER-INPUT';
  assert.equal(iptablesDropRisk('-P INPUT DROP\n-A INPUT -j TUMBLER-INPUT\n-A INPUT -j DROP\n', 'INPUT', 'iptables', own), null);
  const late = iptablesDropRisk('-P INPUT ACCEPT\n-A INPUT -s 198.51.100.0/24 -j DROP\n-A INPUT -j TUMBLER-INPUT\n', 'INPUT', 'iptables', own);
  assert.match(late?.why ?? '', /198\.51\.100\.0/);
  assert.match(iptablesDropRisk('-P INPUT DROP\n', 'INPUT', 'ip6tables', own)?.why ?? '', /no jump to TUMBLER-INPUT/);
  assert.equal(iptablesDropRisk('-P INPUT DROP\n', 'INPUT', 'ip6tables', own)?.fix, 'ip6tables -I INPUT 1 -m conntrack --ctstate DNAT -j ACCEPT');
});

/**
 * The pure parts of the firewall backends (no root): value checks, the plan derived from the
 * config, the nft and iptables texts, and the parsers of `nft -j` and `ipset save` output.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTumblerError } from '../../../../../shared/errors.js';
import { MAX_GRANTS } from '../../../../../shared/ipc/constants.js';
import type { TumblerConfig } from '../../../../../server/config/types.js';
import { NO_EXPIRY, createFirewall } from '../../../../../server/monitor/firewall/backend.js';
import { IptablesBackend, parseIpsetSave } from '../../../../../server/monitor/firewall/iptables.js';
import { ipsetCreateScript, iptNames, parseSetName, restoreScript } from '../../../../../server/monitor/firewall/ipt-rules.js';
import { element, installCommands } from '../../../../../server/monitor/firewall/nft-rules.js';
import { NftablesBackend, parseMapJson } from '../../../../../server/monitor/firewall/nftables.js';
import { makePlan } from '../../../../../server/monitor/firewall/plan.js';
import { canonicalAddress, checkCidr, checkService, checkTable, checkTtl, grantKeyString } from '../../../../../server/monitor/firewall/values.js';
import { testConfig } from './fixtures.js';

const bad = (e: unknown): boolean => isTumblerError(e, 'FIREWALL_BAD_VALUE');

test('addresses: canonical text; names, zones, prefixes and the other family refused', () => {
  assert.equal(canonicalAddress(6, '2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalAddress(6, '2001:db8:0:1:0:0:0:0'), '2001:db8:0:1::');
  assert.equal(canonicalAddress(6, '2001:db8::1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalAddress(4, '192.0.2.1'), '192.0.2.1');
  for (const [f, a] of [[4, '192.0.2.01'], [4, 'example.org'], [6, 'fe80::1%eth0'], [4, '192.0.2.0/24'], [4, '2001:db8::1'], [6, '192.0.2.1'], [4, '192.0.2.1 '], [4, '']] as const) {
    assert.equal(canonicalAddress(f, a), null, a);
  }
  assert.equal(grantKeyString(6, '2001:DB8::0:1', 50000), grantKeyString(6, '2001:db8::1', 50000));
});

test('service, table, ttl and CIDR checks', () => {
  assert.equal(checkService('web-admin_2'), 'web-admin_2');
  for (const s of ['Ssh', 'ssh"', 'a'.repeat(33), '', '1ssh', 'ssh;']) assert.throws(() => checkService(s), bad, s);
  assert.equal(checkTable('tumbler'), 'tumbler');
  for (const s of ['Tumbler', 'tum-bler', 'a'.repeat(17), 'x y']) assert.throws(() => checkTable(s), bad, s);
  assert.equal(checkTtl(300, 300), 300);
  for (const n of [0, -1, 301, 1.5, Number.NaN]) assert.throws(() => checkTtl(n, 300), bad, String(n));
  assert.deepEqual(checkCidr('203.0.113.77/24'), { family: 4, cidr: '203.0.113.0/24' });
  assert.deepEqual(checkCidr('2001:DB8:ffff:1::5/47'), { family: 6, cidr: '2001:db8:fffe::/47' });
  for (const c of ['203.0.113.0/33', '203.0.113.0', 'x/8', '2001:db8::/129', '1.2.3.4/8 accept']) assert.throws(() => checkCidr(c), bad, c);
});

test('plan: local service ports are those whose target is on one of our addresses', () => {
  const plan = makePlan(testConfig('nftables'));
  assert.deepEqual(plan.localServicePorts, [22]);
  assert.deepEqual(plan.servicePorts, [22, 8080]);
  assert.deepEqual(plan.targets4, [{ host: '192.0.2.1', port: 22 }, { host: '192.0.2.130', port: 8080 }]);
  assert.deepEqual(plan.targets6, [{ host: '2001:db8::1', port: 22 }]);
  assert.deepEqual(plan.breakGlass4, ['203.0.113.0/28']);
});

test('a config value that could become syntax is refused when the backend is made', () => {
  const base = testConfig('nftables');
  const evil: TumblerConfig[] = [
    { ...base, addresses: ['192.0.2.1 } ; flush ruleset ; {'] },
    { ...base, breakGlass: ['0.0.0.0/0 } accept ; {'] },
    { ...base, services: [{ name: 'ssh', id: 1, target4: { host: '192.0.2.1', port: 22.5 } }] },
    { ...base, services: [{ name: 'ssh"', id: 1, target4: { host: '192.0.2.1', port: 22 } }] },
    { ...base, knockPorts: { first: 2000, last: 1000 } },
  ];
  for (const c of evil) {
    assert.throws(() => createFirewall(c), bad);
    assert.throws(() => createFirewall({ ...c, firewall: 'iptables' }), bad);
  }
  assert.throws(() => createFirewall(base, { table: 'x; flush ruleset' }), bad);
  assert.ok(createFirewall(base) instanceof NftablesBackend);
  assert.ok(createFirewall({ ...base, firewall: 'iptables' }) instanceof IptablesBackend);
});

test('nft install: one transaction that creates what is missing and rewrites only our chains', () => {
  const cmds = installCommands(makePlan(testConfig('nftables')), 'tumbler');
  assert.ok(cmds.every((c) => !c.includes('\n') && /^(add|flush) (table|map|chain|rule) inet tumbler\b/.test(c)), cmds.join('\n'));
  assert.ok(!cmds.some((c) => /^flush (map|set|table)|^delete/.test(c)), 'never flushes grants');
  const rules = cmds.filter((c) => c.startsWith('add rule')).map((c) => c.replace(/^add rule inet tumbler /, ''));
  assert.deepEqual(rules, [
    'prerouting meta nfproto ipv4 ip daddr { 192.0.2.1 } dnat ip to ip saddr . tcp dport map @grants4',
    'prerouting meta nfproto ipv6 ip6 daddr { 2001:db8::1 } dnat ip6 to ip6 saddr . tcp dport map @grants6',
    'input ct state established,related accept',
    'input meta l4proto tcp ct status dnat ct original proto-dst 50000-50999 accept',
    'input meta nfproto ipv4 ip saddr { 203.0.113.0/28 } tcp dport { 22, 8080 } accept',
    'input tcp dport 40000-40999 drop',
    'input tcp dport 50000-50999 drop',
    'input tcp dport { 22 } drop',
    'input meta nfproto ipv4 ip daddr . tcp dport { 192.0.2.1 . 22, 192.0.2.130 . 8080 } drop',
    'input meta nfproto ipv6 ip6 daddr . tcp dport { 2001:db8::1 . 22 } drop',
    'forward meta l4proto tcp ct status dnat ct original proto-dst 50000-50999 accept',
  ]);
  assert.ok(!rules.some((r) => /reject/.test(r)));
  // Bounded maps: the kernel refuses more than MAX_GRANTS elements.
  const maps = cmds.filter((c) => c.startsWith('add map'));
  assert.equal(maps.length, 2);
  for (const m of maps) assert.match(m, new RegExp(`flags timeout; size ${MAX_GRANTS}; }$`));
  assert.equal(element('198.51.100.7', 50123, 30, 'ssh', { host: '192.0.2.1', port: 22 }), '198.51.100.7 . 50123 timeout 30s comment "ssh" : 192.0.2.1 . 22');
});

test('iptables texts: sets per service and family, DNAT per server address, drops never rejects', () => {
  const plan = makePlan(testConfig('iptables'));
  const names = iptNames('tumbler');
  assert.equal(ipsetCreateScript(plan, names), [
    `create tumbler-1-4 hash:ip,port family inet timeout 0 maxelem ${MAX_GRANTS}`,
    `create tumbler-2-4 hash:ip,port family inet timeout 0 maxelem ${MAX_GRANTS}`,
    `create tumbler-1-6 hash:ip,port family inet6 timeout 0 maxelem ${MAX_GRANTS}`,
    '',
  ].join('\n'));
  const v4 = restoreScript(plan, names, 4);
  assert.match(v4, /^-A TUMBLER-PRE -d 192\.0\.2\.1 -p tcp -m set --match-set tumbler-2-4 src,dst -j DNAT --to-destination 192\.0\.2\.130:8080$/m);
  assert.match(v4, /^-A TUMBLER-INPUT -p tcp --dport 40000:40999 -j DROP$/m);
  assert.match(v4, /^-A TUMBLER-INPUT -s 203\.0\.113\.0\/28 -p tcp -m multiport --dports 22,8080 -j ACCEPT$/m);
  assert.doesNotMatch(v4, /REJECT|^-[FXP] |^-A (INPUT|FORWARD|PREROUTING) /m);
  const v6 = restoreScript(plan, names, 6);
  assert.match(v6, /--to-destination \[2001:db8::1\]:22$/m);
  assert.doesNotMatch(v6, /203\.0\.113|192\.0\.2/);
  assert.deepEqual(parseSetName(names, 'tumbler-12-6'), { id: 12, family: 6 });
  assert.equal(parseSetName(names, 'tumblerx-1-4'), null);
  assert.equal(parseSetName(names, 'f2b-sshd'), null);
});

test('nft -j listing: service from the element comment, else from the target; foreign junk skipped', () => {
  const plan = makePlan(testConfig('nftables'));
  const doc = {
    nftables: [
      { metainfo: { version: '1.0.6' } },
      {
        map: {
          family: 'inet', name: 'grants4', table: 'tumbler',
          elem: [
            [{ elem: { val: { concat: ['198.51.100.7', 50123] }, timeout: 30, expires: 29, comment: 'ssh' } }, { concat: ['192.0.2.1', 22] }],
            [{ elem: { val: { concat: ['198.51.100.8', 50124] }, timeout: 30, expires: 12 } }, { concat: ['192.0.2.130', 8080] }],
            [{ elem: { val: { concat: ['198.51.100.9', 50125] }, timeout: 30, expires: 3, comment: 'gone' } }, { concat: ['192.0.2.99', 1] }],
            [{ elem: { val: 'garbage' } }, { concat: ['192.0.2.1', 22] }],
            'garbage',
          ],
        },
      },
    ],
  };
  assert.deepEqual(parseMapJson(doc, 4, plan), [
    { family: 4, address: '198.51.100.7', port: 50123, service: 'ssh', expiresInSec: 29 },
    { family: 4, address: '198.51.100.8', port: 50124, service: 'web', expiresInSec: 12 },
    { family: 4, address: '198.51.100.9', port: 50125, service: null, expiresInSec: 3 },
  ]);
  assert.deepEqual(parseMapJson({ nftables: [{ map: { name: 'grants6' } }] }, 6, plan), []);
  assert.throws(() => parseMapJson({}, 4, plan), (e: unknown) => isTumblerError(e, 'FIREWALL_NFT'));
});

test('ipset save listing: only our sets, canonical addresses, service from the set id', () => {
  const plan = makePlan(testConfig('iptables'));
  const text = [
    'create tumbler-1-4 hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x1',
    'add tumbler-1-4 198.51.100.2,tcp:50010 timeout 27',
    'add tumbler-1-6 2001:db8:1:0::2,tcp:50030 timeout 3',
    'add tumbler-9-4 198.51.100.3,tcp:50011 timeout 5',
    'add f2b-sshd 198.51.100.4,tcp:22 timeout 5',
    'add tumblerx-1-4 198.51.100.5,tcp:50012 timeout 5',
    'add tumbler-1-4 198.51.100.6,tcp:50013 timeout 0',
  ].join('\n');
  assert.deepEqual(parseIpsetSave(text, iptNames('tumbler'), plan), [
    { family: 4, address: '198.51.100.2', port: 50010, service: 'ssh', expiresInSec: 27 },
    { family: 6, address: '2001:db8:1::2', port: 50030, service: 'ssh', expiresInSec: 3 },
    { family: 4, address: '198.51.100.3', port: 50011, service: null, expiresInSec: 5 },
    { family: 4, address: '198.51.100.6', port: 50013, service: 'ssh', expiresInSec: NO_EXPIRY }, // permanent: never ours
  ]);
});

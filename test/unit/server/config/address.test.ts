/** Address literals: canonical text (RFC 5952), classification, host bits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyIp, fromBytes, hostBitsZero, parseIp } from '../../../../server/config/address.js';

test('canonical text', () => {
  const cases: Array<[string, string]> = [
    ['192.0.2.1', '192.0.2.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'], // longer run wins
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [input, canonical] of cases) assert.equal(parseIp(input)?.text, canonical, input);
});

test('not literals: names, zones, brackets, prefixes, leading zeros', () => {
  for (const s of ['', 'localhost', 'fe80::1%eth0', '[2001:db8::1]', '192.0.2.0/24', '192.0.2.01', '1.2.3', '2001:db8:::1']) {
    assert.equal(parseIp(s), null, s);
  }
});

test('classification', () => {
  const cases: Array<[string, string]> = [
    ['192.0.2.1', 'unicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['2001:db8::1', 'unicast'],
    ['fe80::1', 'unicast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['ff02::1', 'multicast'],
    ['::ffff:192.0.2.1', 'v4-mapped'],
    ['::192.0.2.1', 'v4-compatible'],
  ];
  for (const [s, kind] of cases) assert.equal(classifyIp(parseIp(s)!), kind, s);
});

test('host bits after a prefix', () => {
  assert.ok(hostBitsZero(parseIp('203.0.113.0')!, 24));
  assert.ok(!hostBitsZero(parseIp('203.0.113.1')!, 24));
  assert.ok(hostBitsZero(parseIp('203.0.113.1')!, 32));
  assert.ok(hostBitsZero(parseIp('2001:db8::')!, 32));
  assert.ok(!hostBitsZero(parseIp('2001:db8::1')!, 127));
  assert.ok(hostBitsZero(parseIp('2001:db8::1')!, 128));
});

test('fromBytes round-trips parseIp', () => {
  const a = parseIp('2001:db8::ab:0')!;
  assert.equal(fromBytes(6, a.bytes).text, '2001:db8::ab:0');
  assert.equal(fromBytes(4, Uint8Array.from([198, 51, 100, 7])).text, '198.51.100.7');
});

/** The order gateway addresses are tried in, and the host's preferred family from gai.conf. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostPreferredFamily, orderTargets } from '../../../../client/knock/targets.js';

const gateways = [['192.0.2.1', '2001:db8::1'], ['198.51.100.1'], ['2001:db8:2::1', '203.0.113.1']];

test('no answer yet: gateways in bundle order, the preferred family first in each', () => {
  assert.deepEqual(orderTargets({ gateways }, 6), ['2001:db8::1', '192.0.2.1', '198.51.100.1', '2001:db8:2::1', '203.0.113.1']);
  assert.deepEqual(orderTargets({ gateways }, 4), ['192.0.2.1', '2001:db8::1', '198.51.100.1', '203.0.113.1', '2001:db8:2::1']);
});

test('the address that answered last goes first, then the rest of its gateway, then the others', () => {
  assert.deepEqual(orderTargets({ gateways, lastAnswered: '203.0.113.1' }, 6), ['203.0.113.1', '2001:db8:2::1', '2001:db8::1', '192.0.2.1', '198.51.100.1']);
  assert.deepEqual(orderTargets({ gateways, lastAnswered: '192.0.2.1' }, 6), ['192.0.2.1', '2001:db8::1', '198.51.100.1', '2001:db8:2::1', '203.0.113.1']);
});

test('--gateway: only that address, in canonical form; others refused', () => {
  assert.deepEqual(orderTargets({ gateways }, 6, '2001:DB8:2:0::1'), ['2001:db8:2::1']);
  assert.throws(() => orderTargets({ gateways }, 6, '192.0.2.99'), { code: 'GATEWAY_UNKNOWN' });
  assert.throws(() => orderTargets({ gateways }, 6, 'gw'), { code: 'BAD_ARGUMENT' });
});

test('gai.conf: IPv4 preferred only when ::ffff:0:0/96 is raised above 40', () => {
  assert.equal(hostPreferredFamily(''), 6);
  assert.equal(hostPreferredFamily('#precedence ::ffff:0:0/96  100\n'), 6);
  assert.equal(hostPreferredFamily('precedence ::ffff:0:0/96  100\n'), 4);
  assert.equal(hostPreferredFamily('precedence  ::ffff:0:0/96  10 # default\n'), 6);
});

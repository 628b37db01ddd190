import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleServices, resolveGateways, resolveServices } from '../../../../server/admin/enroll.js';
import { testConfig } from './config.fixture.js';

const cfg = testConfig();

test('services: default every configured one; a list must name configured services only', () => {
  assert.deepEqual(resolveServices(cfg), ['ssh', 'db']);
  assert.deepEqual(resolveServices(cfg, 'db, ssh,db'), ['db', 'ssh']);
  assert.throws(() => resolveServices(cfg, 'ssh,telnet'), { code: 'ADMIN_UNKNOWN_SERVICE' });
  assert.throws(() => resolveServices(cfg, ' , '), { code: 'USAGE' });
});

test('gateways: the fleet\'s when configured, else this server\'s addresses as one gateway; --server picks one address', () => {
  assert.deepEqual(cfg.fleet.gateways, [['192.0.2.1', '2001:db8::1']]);
  assert.deepEqual(resolveGateways(cfg), [['192.0.2.1', '2001:db8::1']]);
  assert.deepEqual(resolveGateways(cfg, '2001:db8::1'), [['2001:db8::1']]);
  assert.throws(() => resolveGateways(cfg, '198.51.100.1'), { code: 'ADMIN_BAD_ADDRESS' });
  assert.throws(() => resolveGateways(cfg, 'example.org'), { code: 'ADMIN_BAD_ADDRESS' });
  const fleet = { ...cfg, fleet: { gateway: 'gw-a', gateways: [['192.0.2.1', '2001:db8::1'], ['198.51.100.1']] } };
  assert.deepEqual(resolveGateways(fleet), fleet.fleet.gateways);
  assert.deepEqual(resolveGateways(fleet, '198.51.100.1'), [['198.51.100.1']]);
});

test('bundle services map names to the configured ids, dropping services no longer configured', () => {
  assert.deepEqual(bundleServices(cfg, ['db', 'gone', 'ssh']), { db: 2, ssh: 1 });
  assert.throws(() => bundleServices(cfg, ['gone']), { code: 'ADMIN_UNKNOWN_SERVICE' });
});

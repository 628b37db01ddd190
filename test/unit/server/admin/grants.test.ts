import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkOpenRequest, pickFreePort } from '../../../../server/admin/grants.js';
import { testConfig } from './config.fixture.js';

const cfg = testConfig();

test('break-glass requests: unicast address, configured service with a target of that family, TTL within max', () => {
  assert.deepEqual(checkOpenRequest(cfg, '198.51.100.7', 'ssh'), { family: 4, address: '198.51.100.7', ttlSec: 30 });
  assert.deepEqual(checkOpenRequest(cfg, '2001:DB8:0::7', 'ssh', '300'), { family: 6, address: '2001:db8::7', ttlSec: 300 });
  assert.throws(() => checkOpenRequest(cfg, '2001:db8::7', 'db'), { code: 'ADMIN_BAD_ADDRESS' });
  assert.throws(() => checkOpenRequest(cfg, '224.0.0.1', 'ssh'), { code: 'ADMIN_BAD_ADDRESS' });
  assert.throws(() => checkOpenRequest(cfg, '127.0.0.1', 'ssh'), { code: 'ADMIN_BAD_ADDRESS' });
  assert.throws(() => checkOpenRequest(cfg, 'host.example', 'ssh'), { code: 'ADMIN_BAD_ADDRESS' });
  assert.throws(() => checkOpenRequest(cfg, '198.51.100.7', 'telnet'), { code: 'ADMIN_UNKNOWN_SERVICE' });
  for (const ttl of ['0', '301', '1.5', '-3', '30s', '']) {
    assert.throws(() => checkOpenRequest(cfg, '198.51.100.7', 'ssh', ttl), { code: 'ADMIN_BAD_TTL' }, ttl);
  }
});

test('ports come from the forward range and skip ports in use; a full range is an error', () => {
  const used = new Set([50000, 50001]);
  const seq = [50000, 50001, 50009];
  assert.equal(pickFreePort(cfg, used, () => seq.shift()!), 50009);
  let asked: [number, number] | undefined;
  pickFreePort(cfg, new Set(), (a, b) => { asked = [a, b]; return a; });
  assert.deepEqual(asked, [50000, 50016]);
  const all = new Set(Array.from({ length: 16 }, (_, i) => 50000 + i));
  assert.throws(() => pickFreePort(cfg, all), { code: 'ADMIN_NO_FREE_PORT' });
});

/** The monitor's re-check of decoded requests against its own config: every MONITOR_* code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTumblerError } from '../../../../shared/errors.js';
import type { MonitorRequest, OpenRequest } from '../../../../shared/ipc/index.js';
import { parseConfig } from '../../../../server/config/parse.js';
import { validateRequest } from '../../../../server/monitor/validate.js';

const cfg = parseConfig(
  `[server]
interfaces = ["veth0"]
addresses = ["192.0.2.1", "2001:db8::1"]
user = "tumbler"
database = "/var/lib/tumbler/tumbler.db"
[knock]
ports = "40000-41999"
[grant]
ports = "50000-59999"
max_ttl = 600
[services.ssh]
id = 1
target = "192.0.2.1:22"
target6 = "[2001:db8::1]:22"
[services.v4only]
id = 2
target = "192.0.2.10:443"
`,
  'validate.toml',
);

const OPEN: OpenRequest = { op: 'open', id: 1, family: 4, address: '198.51.100.7', port: 50001, service: 'ssh', ttl: 30 };

function codeOf(req: MonitorRequest): string {
  try {
    validateRequest(req, cfg);
  } catch (e) {
    assert.ok(isTumblerError(e), String(e));
    return e.code;
  }
  return 'ACCEPTED';
}

test('a valid open passes; the address comes back canonical', () => {
  assert.deepEqual(validateRequest(OPEN, cfg), OPEN);
  const v6 = validateRequest({ ...OPEN, family: 6, address: '2001:DB8:0:0::77' }, cfg);
  assert.equal(v6.op === 'open' && v6.address, '2001:db8::77');
});

test('hello and list carry nothing to re-check', () => {
  assert.equal(codeOf({ op: 'hello', id: 1, pid: 7 }), 'ACCEPTED');
  assert.equal(codeOf({ op: 'list', id: 2, offset: 0 }), 'ACCEPTED');
});

test('MONITOR_BAD_ADDRESS: not a literal, or not unicast', () => {
  const cases: Array<[4 | 6, string]> = [
    [4, 'host.example'], [4, '198.51.100'], [4, '198.51.100.07'], [6, 'fe80::1%veth0'], [6, '[2001:db8::1]'],
    [4, '0.0.0.0'], [4, '127.0.0.1'], [4, '224.0.0.251'], [4, '255.255.255.255'],
    [6, '::'], [6, '::1'], [6, 'ff02::1'], [6, '::ffff:198.51.100.7'], [6, '::198.51.100.7'],
  ];
  for (const [family, address] of cases) {
    assert.equal(codeOf({ ...OPEN, family, address }), 'MONITOR_BAD_ADDRESS', address);
    assert.equal(codeOf({ op: 'close', id: 1, family, address, port: 50001 }), 'MONITOR_BAD_ADDRESS', address);
  }
});

test('MONITOR_FAMILY: address family differs from family', () => {
  assert.equal(codeOf({ ...OPEN, family: 6 }), 'MONITOR_FAMILY');
  assert.equal(codeOf({ ...OPEN, family: 4, address: '2001:db8::7' }), 'MONITOR_FAMILY');
});

test('MONITOR_FAMILY: the service has no target of that family', () => {
  assert.equal(codeOf({ ...OPEN, service: 'v4only' }), 'ACCEPTED');
  assert.equal(codeOf({ ...OPEN, service: 'v4only', family: 6, address: '2001:db8::7' }), 'MONITOR_FAMILY');
});

test('MONITOR_PORT_RANGE: outside grant.ports (bounds inclusive), for open, close and reconcile', () => {
  assert.equal(codeOf({ ...OPEN, port: 50000 }), 'ACCEPTED');
  assert.equal(codeOf({ ...OPEN, port: 59999 }), 'ACCEPTED');
  for (const port of [0, 22, 40000, 49999, 60000, 65535]) assert.equal(codeOf({ ...OPEN, port }), 'MONITOR_PORT_RANGE', String(port));
  assert.equal(codeOf({ op: 'close', id: 1, family: 4, address: '198.51.100.7', port: 22 }), 'MONITOR_PORT_RANGE');
});

test('MONITOR_UNKNOWN_SERVICE', () => {
  for (const service of ['http', 'SSH', '__proto__', 'constructor']) assert.equal(codeOf({ ...OPEN, service }), 'MONITOR_UNKNOWN_SERVICE', service);
});

test('MONITOR_TTL: 1..max_ttl', () => {
  assert.equal(codeOf({ ...OPEN, ttl: 1 }), 'ACCEPTED');
  assert.equal(codeOf({ ...OPEN, ttl: 600 }), 'ACCEPTED');
  assert.equal(codeOf({ ...OPEN, ttl: 601 }), 'MONITOR_TTL');
  assert.equal(codeOf({ ...OPEN, ttl: 0 }), 'MONITOR_TTL');
  assert.equal(codeOf({ ...OPEN, ttl: 2 ** 32 - 1 }), 'MONITOR_TTL');
});

test('reconcile: every keep entry is re-checked and canonicalised', () => {
  const keep = [
    { family: 4 as const, address: '198.51.100.7', port: 50001 },
    { family: 6 as const, address: '2001:DB8::0:7', port: 59999 },
  ];
  const v = validateRequest({ op: 'reconcile', id: 1, keep, final: true }, cfg);
  assert.deepEqual(v.op === 'reconcile' && v.keep.map((k) => k.address), ['198.51.100.7', '2001:db8::7']);
  assert.equal(codeOf({ op: 'reconcile', id: 1, keep: [...keep, { family: 4, address: '127.0.0.1', port: 50001 }], final: true }), 'MONITOR_BAD_ADDRESS');
  assert.equal(codeOf({ op: 'reconcile', id: 1, keep: [{ family: 4, address: '198.51.100.7', port: 41000 }], final: false }), 'MONITOR_PORT_RANGE');
  assert.equal(codeOf({ op: 'reconcile', id: 1, keep: [{ family: 6, address: '198.51.100.7', port: 50001 }], final: false }), 'MONITOR_FAMILY');
});

test('the request object given is not modified', () => {
  const req = { ...OPEN, family: 6 as const, address: '2001:DB8::7' };
  validateRequest(req, cfg);
  assert.equal(req.address, '2001:DB8::7');
});

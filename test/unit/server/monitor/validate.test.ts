/**
 * The monitor's re-check of decoded requests against its own config: every MONITOR_* code, and
 * its class (verdict.ts): malformed → Incident (the worker is killed), out of policy → Refusal
 * (answered, the worker lives on).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IpFamily } from '../../../../shared/net/address.js';
import type { CloseRequest, GrantKey, OpenRequest } from '../../../../shared/ipc/index.js';
import { parseConfig } from '../../../../server/config/parse.js';
import { validateClose, validateKeep, validateOpen } from '../../../../server/monitor/validate.js';
import { Incident, Refusal } from '../../../../server/monitor/verdict.js';

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

/** 'ACCEPTED', or the class and code of what was thrown ("refusal MONITOR_TTL"). */
function verdictOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof Refusal) return `refusal ${e.code}`;
    if (e instanceof Incident) return `incident ${e.code}`;
    throw e;
  }
  return 'ACCEPTED';
}
const open = (o: Partial<Omit<OpenRequest, 'family'>> & { family?: IpFamily }): string => verdictOf(() => validateOpen({ ...OPEN, ...o }, cfg));
const close = (family: IpFamily, address: string, port = 50001): string => {
  const req: CloseRequest = { op: 'close', id: 1, family, address, port };
  return verdictOf(() => validateClose(req, cfg));
};

test('a valid open passes; the address comes back canonical', () => {
  assert.deepEqual(validateOpen(OPEN, cfg), OPEN);
  assert.equal(validateOpen({ ...OPEN, family: 6, address: '2001:DB8:0:0::77' }, cfg).address, '2001:db8::77');
  assert.equal(validateClose({ op: 'close', id: 2, family: 6, address: '2001:DB8::77', port: 50001 }, cfg).address, '2001:db8::77');
});

test('MONITOR_ADDRESS_SYNTAX (incident): not a literal, or not of the stated family', () => {
  for (const [family, address] of [
    [4, 'host.example'], [4, '198.51.100'], [4, '198.51.100.07'], [6, 'fe80::1%veth0'], [6, '[2001:db8::1]'],
    [6, '198.51.100.7'], [4, '2001:db8::7'],
  ] as Array<[IpFamily, string]>) {
    assert.equal(open({ family, address }), 'incident MONITOR_ADDRESS_SYNTAX', address);
    assert.equal(close(family, address), 'incident MONITOR_ADDRESS_SYNTAX', address);
  }
});

test('MONITOR_ADDRESS_REFUSED (refusal): what a spoofed source can be — unspecified, loopback, multicast, broadcast, mapped', () => {
  for (const [family, address] of [
    [4, '0.0.0.0'], [4, '0.1.2.3'], [4, '127.0.0.1'], [4, '224.0.0.251'], [4, '255.255.255.255'],
    [6, '::'], [6, '::1'], [6, 'ff02::1'], [6, '::ffff:198.51.100.7'], [6, '::198.51.100.7'],
  ] as Array<[IpFamily, string]>) {
    assert.equal(open({ family, address }), 'refusal MONITOR_ADDRESS_REFUSED', address);
    assert.equal(close(family, address), 'refusal MONITOR_ADDRESS_REFUSED', address);
  }
});

test('MONITOR_FAMILY (refusal): the service has no target of that family', () => {
  assert.equal(open({ service: 'v4only' }), 'ACCEPTED');
  assert.equal(open({ service: 'v4only', family: 6, address: '2001:db8::7' }), 'refusal MONITOR_FAMILY');
});

test('MONITOR_PORT_RANGE (refusal): outside grant.ports, bounds inclusive', () => {
  assert.equal(open({ port: 50000 }), 'ACCEPTED');
  assert.equal(open({ port: 59999 }), 'ACCEPTED');
  for (const port of [0, 22, 40000, 49999, 60000, 65535]) assert.equal(open({ port }), 'refusal MONITOR_PORT_RANGE', String(port));
  assert.equal(close(4, '198.51.100.7', 22), 'refusal MONITOR_PORT_RANGE');
});

test('MONITOR_UNKNOWN_SERVICE (refusal)', () => {
  for (const service of ['http', 'SSH', '__proto__', 'constructor']) assert.equal(open({ service }), 'refusal MONITOR_UNKNOWN_SERVICE', service);
});

test('MONITOR_TTL (refusal): 1..max_ttl', () => {
  assert.equal(open({ ttl: 1 }), 'ACCEPTED');
  assert.equal(open({ ttl: 600 }), 'ACCEPTED');
  for (const ttl of [0, 601, 2 ** 32 - 1]) assert.equal(open({ ttl }), 'refusal MONITOR_TTL', String(ttl));
});

test('reconcile: entries re-checked and canonicalised; refused ones left out and reported; a malformed one is an incident', () => {
  const keep: GrantKey[] = [
    { family: 4, address: '198.51.100.7', port: 50001 },
    { family: 6, address: '2001:DB8::0:7', port: 59999 },
    { family: 4, address: '127.0.0.1', port: 50001 }, // refused: loopback
    { family: 4, address: '198.51.100.8', port: 41000 }, // refused: a port of an older grant.ports
  ];
  const refused: string[] = [];
  const kept = validateKeep({ op: 'reconcile', id: 1, keep, final: true }, cfg, (r) => refused.push(r.code));
  assert.deepEqual(kept.map((k) => k.address), ['198.51.100.7', '2001:db8::7']);
  assert.deepEqual(refused, ['MONITOR_ADDRESS_REFUSED', 'MONITOR_PORT_RANGE']);
  const malformed = { op: 'reconcile' as const, id: 1, keep: [{ family: 6 as const, address: '198.51.100.7', port: 50001 }], final: false };
  assert.equal(verdictOf(() => validateKeep(malformed, cfg, () => undefined)), 'incident MONITOR_ADDRESS_SYNTAX');
});

test('the request object given is not modified', () => {
  const req = { ...OPEN, family: 6 as const, address: '2001:DB8::7' };
  validateOpen(req, cfg);
  assert.equal(req.address, '2001:DB8::7');
});

/** [metrics]: off by default, loopback or a Unix socket only, strict like every other table (file:line). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTumblerError } from '../../../../shared/errors.js';
import { parseConfig } from '../../../../server/config/parse.js';
import { listenText } from '../../../../server/config/metrics.js';

const BASE = `[server]
interfaces = ["veth0"]
addresses = ["192.0.2.1"]
user = "tumbler"
database = "/var/lib/tumbler/tumbler.db"

[knock]
ports = "40000-41999"

[grant]
ports = "50000-59999"

[services.ssh]
id = 1
target = "192.0.2.1:22"
`;
/** The line [metrics] starts on in BASE + metrics. */
const HEADER_LINE = BASE.split('\n').length;

const withMetrics = (body: string) => parseConfig(`${BASE}[metrics]\n${body}\n`, 't.toml');

function rejects(body: string, code: string, line: number): string {
  try {
    withMetrics(body);
  } catch (e) {
    assert.ok(isTumblerError(e), String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, new RegExp(`^t\\.toml:${line}: `), e.message);
    return e.message;
  }
  assert.fail(`accepted: ${body}`);
}

test('metrics are off without a [metrics] table, or without listen', () => {
  assert.equal(parseConfig(BASE, 't.toml').metrics, undefined);
  assert.equal(withMetrics('').metrics, undefined);
});

test('loopback host:port (IPv4 and IPv6) and Unix socket paths are accepted, with the default user', () => {
  assert.deepEqual(withMetrics('listen = "127.0.0.1:9468"').metrics, { listen: { kind: 'tcp', host: '127.0.0.1', port: 9468 }, user: 'nobody' });
  assert.deepEqual(withMetrics('listen = "127.8.9.10:1024"').metrics?.listen, { kind: 'tcp', host: '127.8.9.10', port: 1024 });
  assert.deepEqual(withMetrics('listen = "[0:0::1]:65535"').metrics?.listen, { kind: 'tcp', host: '::1', port: 65535 });
  assert.deepEqual(withMetrics('listen = "/run/tumbler/metrics/metrics.sock"\nuser = "tmb-metrics"').metrics,
    { listen: { kind: 'unix', path: '/run/tumbler/metrics/metrics.sock' }, user: 'tmb-metrics' });
  const m = withMetrics('listen = "[::1]:9468"').metrics!;
  assert.equal(listenText(m.listen), '[::1]:9468');
  assert.ok(Object.isFrozen(m) && Object.isFrozen(m.listen));
});

test('a non-loopback address is refused, naming the line', () => {
  for (const l of ['0.0.0.0:9468', '192.0.2.1:9468', '[2001:db8::1]:9468', '[::]:9468']) {
    assert.match(rejects(`listen = "${l}"`, 'CONFIG_BAD_VALUE', HEADER_LINE + 1), /loopback/);
  }
});

test('names, bad syntax, privileged or out-of-range ports and bad paths are refused', () => {
  for (const l of ['localhost:9468', '127.0.0.1', '127.0.0.1:', '::1:9468', '[127.0.0.1]:9468', '127.0.0.1:80', '127.0.0.1:65536', '127.0.0.1:09468',
    'run/metrics.sock', '/run/tumbler/', `/${'a'.repeat(107)}`, '']) {
    rejects(`listen = "${l}"`, 'CONFIG_BAD_VALUE', HEADER_LINE + 1);
  }
  rejects('listen = 9468', 'CONFIG_BAD_VALUE', HEADER_LINE + 1);
});

test('user: an account name, never root; and only with listen', () => {
  rejects('listen = "127.0.0.1:9468"\nuser = "root"', 'CONFIG_BAD_VALUE', HEADER_LINE + 2);
  rejects('listen = "127.0.0.1:9468"\nuser = "Bad User"', 'CONFIG_BAD_VALUE', HEADER_LINE + 2);
  rejects('user = "nobody"', 'CONFIG_BAD_VALUE', HEADER_LINE + 1);
});

test('an unknown key in [metrics] is CONFIG_UNKNOWN_KEY on its line', () => {
  assert.match(rejects('listen = "127.0.0.1:9468"\nport = 9468', 'CONFIG_UNKNOWN_KEY', HEADER_LINE + 2), /allowed: listen, user/);
});

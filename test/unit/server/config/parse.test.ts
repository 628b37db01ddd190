/** Strict config parser: every CONFIG_* code with the line it names, a full round trip, the example. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTumblerError } from '../../../../shared/errors.js';
import { formatConfigError, loadConfig, parseConfig } from '../../../../server/config/parse.js';
import { codeOf } from '../../../helpers/error-code.js';

const FILE = 't.toml';

// Line numbers of BASE are asserted below: keep it as is.
const BASE = [
  '[server]', //                                   1
  'interfaces = ["veth0"]', //                     2
  'addresses = ["192.0.2.1", "2001:db8::1"]', //   3
  'user = "tumbler"', //                           4
  'database = "/var/lib/tumbler/tumbler.db"', //   5
  '', //                                           6
  '[knock]', //                                    7
  'ports = "40000-41999"', //                      8
  '', //                                           9
  '[grant]', //                                    10
  'ports = "50000-59999"', //                      11
  '', //                                           12
  '[services.ssh]', //                             13
  'id = 1', //                                     14
  'target = "192.0.2.1:22"', //                    15
];

/** BASE with line `n` (1-based) replaced by `text` (which may hold several lines). */
function withLine(n: number, text: string): string {
  const lines = [...BASE];
  lines[n - 1] = text;
  return lines.join('\n');
}
/** BASE with `text` inserted after line `n`. */
function insertAfter(n: number, text: string): string {
  const lines = [...BASE];
  lines.splice(n, 0, text);
  return lines.join('\n');
}

/** Parse `text`, expect `code`, and that the message starts with "t.toml:<line>: ". */
function rejects(text: string, code: string, line: number): string {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    assert.ok(isTumblerError(e), `not a TumblerError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    const m = /^t\.toml:(\d+): \S/.exec(e.message);
    assert.ok(m, `message lacks "file:line: ": ${e.message}`);
    assert.equal(Number(m[1]), line, e.message);
    return e.message;
  }
  assert.fail(`accepted; expected ${code}`);
}


// ---- valid input ----

test('the base config parses, with defaults for every optional key', () => {
  const c = parseConfig(BASE.join('\n'), FILE);
  assert.equal(c.file, resolve(FILE));
  assert.deepEqual(c.interfaces, ['veth0']);
  assert.equal(c.logFormat, 'json');
  assert.equal(c.firewall, 'nftables');
  assert.equal(c.timestampWindowSec, 30);
  assert.equal(c.graceSec, 30);
  assert.equal(c.defaultTtlSec, 30);
  assert.equal(c.maxTtlSec, 300);
  assert.deepEqual(c.breakGlass, []);
  assert.deepEqual(c.services, [{ name: 'ssh', id: 1, target4: { host: '192.0.2.1', port: 22 } }]);
});

test('a full config round-trips into the typed config, addresses normalised', () => {
  const text = `
# every key, none at its default
[server]
interfaces = ["veth0", "veth1"]
addresses = ["192.0.2.1", "2001:DB8:0:0:0:0:0:1"]
user = "tmb_worker"
log_format = "text"
firewall = "iptables"
break_glass = ["203.0.113.0/24", "2001:DB8:0000::/48", "198.51.100.7"]

[store]
backend = "sqlite"
path = "/srv/tumbler/t.db"

[fleet]
gateway = "gw-a.example"
gateways = [["192.0.2.1", "2001:DB8::1"], ["192.0.2.2"]]

[knock]
ports = "30000-30063"
timestamp_window = 3600
grace = 0

[grant]
ports = "60000-60015"
default_ttl = 86400
max_ttl = 86400

[services.ssh]
id = 1
target = "192.0.2.1:22"
target6 = "[2001:0DB8::0001]:22"

[services.db-6]
id = 63
target6 = "[2001:db8:0:1::10]:5432"

[services."web_admin"]
id = 2
target = "198.51.100.20:65535"
`;
  const c = parseConfig(text, '/etc/tumbler/tumblerd.toml');
  assert.deepEqual(
    { ...c, services: c.services.map((s) => ({ ...s })) },
    {
      file: '/etc/tumbler/tumblerd.toml',
      interfaces: ['veth0', 'veth1'],
      addresses: ['192.0.2.1', '2001:db8::1'],
      user: 'tmb_worker',
      store: { backend: 'sqlite', path: '/srv/tumbler/t.db' },
      fleet: { gateway: 'gw-a.example', gateways: [['192.0.2.1', '2001:db8::1'], ['192.0.2.2']] },
      logFormat: 'text',
      firewall: 'iptables',
      knockPorts: { first: 30000, last: 30063 },
      timestampWindowSec: 3600,
      graceSec: 0,
      forwardPorts: { first: 60000, last: 60015 },
      defaultTtlSec: 86400,
      maxTtlSec: 86400,
      breakGlass: ['203.0.113.0/24', '2001:db8::/48', '198.51.100.7/32'],
      services: [
        { name: 'ssh', id: 1, target4: { host: '192.0.2.1', port: 22 }, target6: { host: '2001:db8::1', port: 22 } },
        { name: 'db-6', id: 63, target6: { host: '2001:db8:0:1::10', port: 5432 } },
        { name: 'web_admin', id: 2, target4: { host: '198.51.100.20', port: 65535 } },
      ],
    },
  );
});

test('the result is frozen', () => {
  const c = parseConfig(BASE.join('\n'), FILE);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.services) && Object.isFrozen(c.services[0]) && Object.isFrozen(c.addresses));
});

test('inline tables and dotted keys are the same config', () => {
  const text = `server = { interfaces = ["veth0"], addresses = ["192.0.2.1"], user = "tumbler", database = "/d.db" }
knock.ports = "40000-41999"
grant.ports = "50000-59999"
services.ssh = { id = 1, target = "192.0.2.1:22" }`;
  const c = parseConfig(text, FILE);
  assert.equal(c.services[0]!.name, 'ssh');
  assert.deepEqual(c.knockPorts, { first: 40000, last: 41999 });
});

test('range and TTL bounds are inclusive', () => {
  assert.equal(codeOf(() => parseConfig(withLine(8, 'ports = "1024-1087"'), FILE)), 'ACCEPTED'); // 64 ports
  assert.equal(codeOf(() => parseConfig(withLine(8, 'ports = "40000-44095"'), FILE)), 'ACCEPTED'); // 4096 ports
  assert.equal(codeOf(() => parseConfig(withLine(11, 'ports = "65520-65535"'), FILE)), 'ACCEPTED'); // 16 ports
  assert.equal(codeOf(() => parseConfig(insertAfter(11, 'default_ttl = 5\nmax_ttl = 5'), FILE)), 'ACCEPTED');
});

test('a target on another host may use a port inside the ranges', () => {
  assert.equal(codeOf(() => parseConfig(withLine(15, 'target = "192.0.2.50:50000"'), FILE)), 'ACCEPTED');
});

test('the example file loads', () => {
  const example = fileURLToPath(new URL('../../../../server/config/example.toml', import.meta.url));
  const c = loadConfig(example);
  assert.equal(c.file, example);
  assert.ok(c.services.length >= 1);
});

// ---- CONFIG_SYNTAX ----

test('CONFIG_SYNTAX: TOML errors name the line smol-toml found', () => {
  const msg = rejects(withLine(4, 'user = "tumbler'), 'CONFIG_SYNTAX', 4);
  assert.match(msg, /column \d+/);
  rejects(withLine(14, 'id = 1\nid = 2'), 'CONFIG_SYNTAX', 15); // redefined key
  rejects(withLine(11, 'ports = 99999999999999999999'), 'CONFIG_SYNTAX', 11);
});

// ---- CONFIG_UNKNOWN_KEY ----

test('CONFIG_UNKNOWN_KEY: the line of the unknown key, in every table', () => {
  rejects(insertAfter(4, 'usr = "x"'), 'CONFIG_UNKNOWN_KEY', 5);
  rejects(insertAfter(8, 'window = 30'), 'CONFIG_UNKNOWN_KEY', 9);
  rejects(insertAfter(11, 'ttl = 30'), 'CONFIG_UNKNOWN_KEY', 12);
  rejects(insertAfter(15, 'targets = "192.0.2.1:22"'), 'CONFIG_UNKNOWN_KEY', 16);
  rejects(insertAfter(15, '\n[logging]\nlevel = "info"'), 'CONFIG_UNKNOWN_KEY', 17);
  rejects(`debug = true\n${BASE.join('\n')}`, 'CONFIG_UNKNOWN_KEY', 1);
});

test('CONFIG_UNKNOWN_KEY: a key inside a multi-line inline table', () => {
  const inline = 'services.ssh = {\n  id = 1,\n  target = "192.0.2.1:22",\n  port = 22 }';
  rejects([inline, ...BASE.slice(0, 12)].join('\n'), 'CONFIG_UNKNOWN_KEY', 4);
});

test('CONFIG_UNKNOWN_KEY: a key hidden in a multi-line string is not mistaken for one', () => {
  // The string holds "[knock]" and "bogus = 1": the line must be the real unknown key's.
  const text = insertAfter(5, 'note = """\n[knock]\nbogus = 1\n"""');
  rejects(text, 'CONFIG_UNKNOWN_KEY', 6);
});

// ---- CONFIG_MISSING ----

test('CONFIG_MISSING: a required key names its table header line', () => {
  rejects(withLine(4, ''), 'CONFIG_MISSING', 1); // user
  rejects(withLine(5, ''), 'CONFIG_MISSING', 1); // database
  rejects(withLine(2, ''), 'CONFIG_MISSING', 1); // interfaces
  rejects(withLine(8, ''), 'CONFIG_MISSING', 7); // knock.ports
  rejects(withLine(11, ''), 'CONFIG_MISSING', 10); // grant.ports
});

test('CONFIG_MISSING: a missing table names line 1', () => {
  rejects(BASE.slice(6).join('\n'), 'CONFIG_MISSING', 1); // no [server]
  rejects([...BASE.slice(0, 6), ...BASE.slice(9)].join('\n'), 'CONFIG_MISSING', 1); // no [knock]
  rejects(BASE.slice(0, 12).join('\n'), 'CONFIG_MISSING', 1); // no services
});

test('CONFIG_MISSING: services present but empty, or a service without a target', () => {
  rejects([...BASE.slice(0, 12), '[services]'].join('\n'), 'CONFIG_MISSING', 13);
  rejects(withLine(15, ''), 'CONFIG_MISSING', 13);
  rejects(withLine(14, ''), 'CONFIG_MISSING', 13); // id
});

// ---- CONFIG_BAD_VALUE ----

const BAD_VALUES: Array<[string, number, string]> = [
  // [description, line replaced, replacement]
  ['interfaces empty', 2, 'interfaces = []'],
  ['interfaces not an array', 2, 'interfaces = "veth0"'],
  ['interface name too long', 2, 'interfaces = ["abcdefghijklmnop"]'],
  ['interface name with a slash', 2, 'interfaces = ["a/b"]'],
  ['interface listed twice', 2, 'interfaces = ["veth0", "veth0"]'],
  ['address not a literal', 3, 'addresses = ["server.example"]'],
  ['address multicast', 3, 'addresses = ["224.0.0.1"]'],
  ['address unspecified', 3, 'addresses = ["::"]'],
  ['address v4-mapped', 3, 'addresses = ["::ffff:192.0.2.1"]'],
  ['address with zone', 3, 'addresses = ["fe80::1%eth0"]'],
  ['address twice after normalising', 3, 'addresses = ["2001:db8::1", "2001:DB8:0::1"]'],
  ['user root', 4, 'user = "root"'],
  ['user bad characters', 4, 'user = "Tumbler!"'],
  ['user not a string', 4, 'user = 1000'],
  ['database relative', 5, 'database = "tumbler.db"'],
  ['knock ports too few', 8, 'ports = "40000-40062"'],
  ['knock ports too many', 8, 'ports = "40000-44096"'],
  ['knock ports below 1024', 8, 'ports = "1000-1099"'],
  ['knock ports reversed', 8, 'ports = "41999-40000"'],
  ['knock ports above 65535', 8, 'ports = "65500-65599"'],
  ['knock ports not a range', 8, 'ports = "40000:41999"'],
  ['knock ports an integer', 8, 'ports = 40000'],
  ['grant ports too few', 11, 'ports = "50000-50014"'],
  ['service id 0', 14, 'id = 0'],
  ['service id 64', 14, 'id = 64'],
  ['service id a string', 14, 'id = "1"'],
  ['service id a float', 14, 'id = 1.5'],
  ['target loopback', 15, 'target = "127.0.0.1:22"'],
  ['target a name', 15, 'target = "localhost:22"'],
  ['target broadcast', 15, 'target = "255.255.255.255:22"'],
  ['target without port', 15, 'target = "192.0.2.1"'],
  ['target port 0', 15, 'target = "192.0.2.1:0"'],
  ['target port 65536', 15, 'target = "192.0.2.1:65536"'],
  ['target an IPv6 address', 15, 'target = "[2001:db8::1]:22"'],
  ['target6 an IPv4 address', 15, 'target6 = "192.0.2.1:22"'],
  ['target6 without brackets', 15, 'target6 = "2001:db8::1:22"'],
  ['target6 loopback', 15, 'target6 = "[::1]:22"'],
  ['target6 multicast', 15, 'target6 = "[ff02::1]:22"'],
];

for (const [what, line, replacement] of BAD_VALUES) {
  test(`CONFIG_BAD_VALUE: ${what}`, () => {
    rejects(withLine(line, replacement), 'CONFIG_BAD_VALUE', line);
  });
}

test('CONFIG_BAD_VALUE: optional keys, on their own line', () => {
  rejects(insertAfter(5, 'log_format = "xml"'), 'CONFIG_BAD_VALUE', 6);
  rejects(insertAfter(5, 'firewall = "pf"'), 'CONFIG_BAD_VALUE', 6);
  rejects(insertAfter(5, 'break_glass = ["203.0.113.1/24"]'), 'CONFIG_BAD_VALUE', 6); // host bits
  rejects(insertAfter(5, 'break_glass = ["0.0.0.0/0"]'), 'CONFIG_BAD_VALUE', 6);
  rejects(insertAfter(5, 'break_glass = ["203.0.113.0/33"]'), 'CONFIG_BAD_VALUE', 6);
  rejects(insertAfter(5, 'break_glass = ["2001:db8::/129"]'), 'CONFIG_BAD_VALUE', 6);
  rejects(insertAfter(5, 'break_glass = "203.0.113.0/24"'), 'CONFIG_BAD_VALUE', 6);
  rejects(insertAfter(8, 'timestamp_window = 4'), 'CONFIG_BAD_VALUE', 9);
  rejects(insertAfter(8, 'timestamp_window = 3601'), 'CONFIG_BAD_VALUE', 9);
  rejects(insertAfter(8, 'grace = 301'), 'CONFIG_BAD_VALUE', 9);
  rejects(insertAfter(8, 'grace = -1'), 'CONFIG_BAD_VALUE', 9);
  rejects(insertAfter(11, 'max_ttl = 86401'), 'CONFIG_BAD_VALUE', 12);
  rejects(insertAfter(11, 'default_ttl = 4'), 'CONFIG_BAD_VALUE', 12);
  rejects(insertAfter(11, 'default_ttl = 301'), 'CONFIG_BAD_VALUE', 12); // above the default max_ttl
  rejects(insertAfter(11, 'max_ttl = 60\ndefault_ttl = 61'), 'CONFIG_BAD_VALUE', 13);
});

test('CONFIG_BAD_VALUE: an element of a multi-line array names its own line', () => {
  rejects(withLine(3, 'addresses = [\n  "192.0.2.1",\n  # comment\n  "192.0.2.300",\n]'), 'CONFIG_BAD_VALUE', 6);
});

test('CONFIG_BAD_VALUE: a bad service name names its header', () => {
  rejects(withLine(13, '[services.SSH]'), 'CONFIG_BAD_VALUE', 13);
  rejects(withLine(13, '[services.1ssh]'), 'CONFIG_BAD_VALUE', 13);
  rejects(withLine(13, `[services.${'a'.repeat(33)}]`), 'CONFIG_BAD_VALUE', 13);
});

test('CONFIG_BAD_VALUE / CONFIG_UNKNOWN_KEY: a value where a table belongs and the reverse', () => {
  const noKnock = [...BASE.slice(0, 6), ...BASE.slice(9)];
  rejects(['knock = "40000-41999"', ...noKnock].join('\n'), 'CONFIG_BAD_VALUE', 1);
  rejects(['services = 1', ...BASE.slice(0, 12)].join('\n'), 'CONFIG_BAD_VALUE', 1);
  rejects(insertAfter(15, 'services.web = "192.0.2.1:443"'), 'CONFIG_UNKNOWN_KEY', 16); // key "services" in [services.ssh]
  rejects(insertAfter(5, '[server.extra]\nx = 1'), 'CONFIG_UNKNOWN_KEY', 6);
});

// ---- CONFIG_OVERLAP ----

test('CONFIG_OVERLAP: knock and forward ranges overlap (names grant.ports)', () => {
  rejects(withLine(11, 'ports = "41999-42999"'), 'CONFIG_OVERLAP', 11);
  rejects(withLine(11, 'ports = "39000-40000"'), 'CONFIG_OVERLAP', 11);
});

test('CONFIG_OVERLAP: a target on this server inside the knock or forward range', () => {
  rejects(withLine(15, 'target = "192.0.2.1:40000"'), 'CONFIG_OVERLAP', 15);
  rejects(withLine(15, 'target = "192.0.2.1:59999"'), 'CONFIG_OVERLAP', 15);
  rejects(withLine(15, 'target6 = "[2001:DB8::1]:50000"'), 'CONFIG_OVERLAP', 15); // normalised match
});

test('CONFIG_OVERLAP: duplicate service id names the second id', () => {
  rejects(insertAfter(15, '\n[services.web]\nid = 1\ntarget = "192.0.2.1:443"'), 'CONFIG_OVERLAP', 18);
});

// ---- loadConfig: the file itself ----

const dir = mkdtempSync(join(tmpdir(), 'tumbler-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('CONFIG_UNREADABLE: missing file, a directory, an oversized file', () => {
  assert.equal(codeOf(() => loadConfig(join(dir, 'absent.toml'))), 'CONFIG_UNREADABLE');
  assert.equal(codeOf(() => loadConfig(dir)), 'CONFIG_UNREADABLE');
  const big = join(dir, 'big.toml');
  writeFileSync(big, `# ${'x'.repeat(1 << 20)}\n`);
  assert.equal(codeOf(() => loadConfig(big)), 'CONFIG_UNREADABLE');
});

test('CONFIG_UNSAFE: a world-writable file is refused', () => {
  const f = join(dir, 'open.toml');
  writeFileSync(f, BASE.join('\n'));
  chmodSync(f, 0o646);
  assert.equal(codeOf(() => loadConfig(f)), 'CONFIG_UNSAFE');
  chmodSync(f, 0o644);
  assert.equal(loadConfig(f).user, 'tumbler');
});

test('CONFIG_SYNTAX: invalid UTF-8 names the line of the first bad byte', () => {
  const f = join(dir, 'latin1.toml');
  writeFileSync(f, Buffer.concat([Buffer.from('[server]\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  try {
    loadConfig(f);
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isTumblerError(e, 'CONFIG_SYNTAX'));
    assert.ok(e.message.startsWith(`${f}:2: `), e.message);
  }
});

test('loadConfig names the file as given in messages', () => {
  const f = join(dir, 'bad.toml');
  writeFileSync(f, withLine(4, 'user = "root"'));
  try {
    loadConfig(f);
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isTumblerError(e, 'CONFIG_BAD_VALUE'));
    assert.ok(e.message.startsWith(`${f}:4: `));
  }
});

test('formatConfigError appends the code', () => {
  try {
    parseConfig('x = 1', FILE);
  } catch (e) {
    assert.match(formatConfigError(e), /^t\.toml:1: .*\[CONFIG_UNKNOWN_KEY\]$/);
  }
  assert.match(formatConfigError(new Error('boom')), /unexpected/);
});

// ---- [store] and [fleet] ----

test('[store]: the SQLite path from [server] database (older configs) or [store] path; postgres with url and password_file', () => {
  assert.deepEqual(parseConfig(BASE.join('\n'), FILE).store, { backend: 'sqlite', path: '/var/lib/tumbler/tumbler.db' });
  const store = (lines: string) => parseConfig([...BASE.slice(0, 4), ...BASE.slice(5), lines].join('\n'), FILE).store;
  assert.deepEqual(store('[store]\npath = "/srv/t.db"'), { backend: 'sqlite', path: '/srv/t.db' });
  assert.deepEqual(store('[store]\nbackend = "postgres"\nurl = "postgresql://tumbler@/tumbler?host=/run/postgresql"'),
    { backend: 'postgres', url: 'postgresql://tumbler@/tumbler?host=/run/postgresql' });
  assert.deepEqual(store('[store]\nbackend = "postgres"\nurl = "postgres://tumbler@db.example/tumbler"\npassword_file = "/etc/tumbler/pg.password"'),
    { backend: 'postgres', url: 'postgres://tumbler@db.example/tumbler', passwordFile: '/etc/tumbler/pg.password' });
});

test('[store]: strict, with the line: both places for the path, a password in the URL, keys of the other backend, unknown keys', () => {
  const noDb = [...BASE.slice(0, 4), '', ...BASE.slice(5)]; // line 5 empty: no [server] database
  const at = (lines: string[]) => [...noDb, ...lines].join('\n');
  rejects([...BASE, '[store]', 'path = "/srv/t.db"'].join('\n'), 'CONFIG_OVERLAP', 5);
  rejects(at(['[store]', 'backend = "postgres"', 'url = "postgresql://tumbler:secret@/tumbler?host=/run/postgresql"']), 'CONFIG_BAD_VALUE', 18);
  rejects(at(['[store]', 'backend = "postgres"', 'url = "postgresql://tumbler@/tumbler?password=secret"']), 'CONFIG_BAD_VALUE', 18);
  rejects(at(['[store]', 'backend = "postgres"', 'url = "mysql://tumbler@/tumbler"']), 'CONFIG_BAD_VALUE', 18);
  rejects(at(['[store]', 'backend = "postgres"']), 'CONFIG_MISSING', 16);
  rejects(at(['[store]', 'backend = "postgres"', 'url = "postgresql:///t"', 'path = "/srv/t.db"']), 'CONFIG_BAD_VALUE', 19);
  rejects(at(['[store]', 'path = "/srv/t.db"', 'url = "postgresql:///t"']), 'CONFIG_BAD_VALUE', 18);
  rejects(at(['[store]', 'backend = "mysql"']), 'CONFIG_BAD_VALUE', 17);
  rejects(at(['[store]', 'path = "/srv/t.db"', 'paht = "x"']), 'CONFIG_UNKNOWN_KEY', 18);
  rejects(at(['[store]', 'backend = "postgres"', 'url = "postgresql:///t"', 'password_file = "pg.password"']), 'CONFIG_BAD_VALUE', 19);
  rejects(noDb.join('\n'), 'CONFIG_MISSING', 1);
});

test('[fleet]: the gateway name defaults to the host name, the gateways to this server\'s addresses; strict values', () => {
  const c = parseConfig(BASE.join('\n'), FILE);
  assert.equal(c.fleet.gateway, hostname());
  assert.deepEqual(c.fleet.gateways, [['192.0.2.1', '2001:db8::1']]);
  assert.ok(Object.isFrozen(c.fleet) && Object.isFrozen(c.fleet.gateways) && Object.isFrozen(c.fleet.gateways[0]));
  const fleet = (lines: string[]) => [...BASE, '[fleet]', ...lines].join('\n');
  rejects(fleet(['gateway = "gw a"']), 'CONFIG_BAD_VALUE', 17);
  rejects(fleet(['gateway = ""']), 'CONFIG_BAD_VALUE', 17);
  rejects(fleet(['gateways = ["192.0.2.1"]']), 'CONFIG_BAD_VALUE', 17);
  rejects(fleet(['gateways = []']), 'CONFIG_BAD_VALUE', 17);
  rejects(fleet(['gateways = [[]]']), 'CONFIG_BAD_VALUE', 17);
  rejects(fleet(['gateways = [["192.0.2.1"], ["192.0.2.1"]]']), 'CONFIG_BAD_VALUE', 17);
  rejects(fleet(['gateways = [["224.0.0.1"]]']), 'CONFIG_BAD_VALUE', 17);
  rejects(fleet(['gatway = "x"']), 'CONFIG_UNKNOWN_KEY', 17);
});

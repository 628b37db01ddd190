/** A config for admin tests (RFC 5737 / 3849 addresses): as TOML text, and parsed. */
import { parseConfig } from '../../../../server/config/parse.js';
import type { TumblerConfig } from '../../../../server/config/types.js';

export function adminConfigToml(o: { interfaces: readonly string[]; user: string; database: string; grantPorts: string }): string {
  return `[server]
interfaces = ${JSON.stringify(o.interfaces)}
addresses = ["192.0.2.1", "2001:db8::1"]
user = "${o.user}"
database = "${o.database}"

[knock]
ports = "40000-40999"

[grant]
ports = "${o.grantPorts}"
default_ttl = 30
max_ttl = 300

[services.ssh]
id = 1
target = "192.0.2.1:22"
target6 = "[2001:db8::1]:22"

[services.db]
id = 2
target = "192.0.2.10:5432"
`;
}

export function testConfig(): TumblerConfig {
  return parseConfig(adminConfigToml({ interfaces: ['lo'], user: 'tmbtest', database: '/var/lib/tumbler/tumbler.db', grantPorts: '50000-50015' }), 'test.toml');
}

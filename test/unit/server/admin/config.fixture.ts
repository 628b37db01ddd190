/** A parsed config for admin unit tests (RFC 5737 / 3849 addresses). */
import { parseConfig } from '../../../../server/config/parse.js';
import type { TumblerConfig } from '../../../../server/config/types.js';

export function testConfig(): TumblerConfig {
  return parseConfig(`[server]
interfaces = ["lo"]
addresses = ["192.0.2.1", "2001:db8::1"]
user = "tmbtest"
database = "/var/lib/tumbler/tumbler.db"

[knock]
ports = "40000-40999"

[grant]
ports = "50000-50015"
default_ttl = 30
max_ttl = 300

[services.ssh]
id = 1
target = "192.0.2.1:22"
target6 = "[2001:db8::1]:22"

[services.db]
id = 2
target = "192.0.2.10:5432"
`, 'test.toml');
}

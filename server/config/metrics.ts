/**
 * [metrics]: the Prometheus endpoint, off unless `listen` is set. It is served by an unprivileged
 * exporter process (server/metrics/), never by the monitor; `listen` is a loopback `host:port`
 * (127.0.0.0/8 or ::1, a port the unprivileged exporter may bind) or a Unix socket path. Metrics
 * are not for the network: anything else is refused.
 */
import { isAbsolute } from 'node:path';
import { classifyIp, parseIp } from './address.js';
import { quote, str, type Field, type Table } from './fields.js';
import { MAX_PORT, MIN_RANGE_PORT } from './limits.js';
import { userName } from './sections.js';
import type { MetricsConfig, MetricsListen } from './types.js';

const METRICS_KEYS = ['listen', 'user'];
/** The account the exporter runs as when [metrics] names none: one that owns nothing. */
const DEFAULT_METRICS_USER = 'nobody';
/** sun_path holds 108 bytes with the terminating NUL. */
const MAX_UNIX_SOCKET_PATH = 107;

/** The [metrics] table, or undefined when metrics are off (no table, or no listen key). */
export function readMetrics(root: Table): MetricsConfig | undefined {
  const t = root.table('metrics', METRICS_KEYS);
  if (!t.has('listen')) {
    if (t.has('user')) t.child('user').bad('is only used with listen (metrics are off without it)');
    return undefined;
  }
  const listen = t.required('listen', metricsListen, 'where the exporter listens');
  const user = t.optional('user', userName, DEFAULT_METRICS_USER);
  return { listen, user };
}

/** "127.0.0.1:9468", "[::1]:9468" or an absolute Unix socket path. */
function metricsListen(value: unknown, field: Field): MetricsListen {
  const s = str(value, field);
  const allowed = 'a loopback "127.0.0.1:PORT" or "[::1]:PORT", or an absolute Unix socket path';
  if (s.startsWith('/')) {
    if (!isAbsolute(s) || s.includes('\0') || s.endsWith('/') || Buffer.byteLength(s) > MAX_UNIX_SOCKET_PATH) {
      field.bad(`${quote(s)} is not a usable Unix socket path (absolute, at most ${MAX_UNIX_SOCKET_PATH} bytes)`);
    }
    return { kind: 'unix', path: s };
  }
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(s);
  const a = m ? parseIp(m[1] ?? m[2]!) : null;
  if (!m || !a || (m[1] !== undefined) !== (a.family === 6)) field.bad(`${quote(s)} is not ${allowed}`);
  if (classifyIp(a) !== 'loopback') {
    field.bad(`${quote(s)} is not a loopback address; metrics are served on ${allowed} (put a TLS proxy in front to scrape from elsewhere)`);
  }
  const port = Number(m[3]);
  if (m[3]!.startsWith('0') || port < MIN_RANGE_PORT || port > MAX_PORT) {
    field.bad(`${quote(s)} has port ${m[3]}; allowed ${MIN_RANGE_PORT}..${MAX_PORT} (the exporter runs unprivileged)`);
  }
  return { kind: 'tcp', host: a.text, port };
}

/** The listen address as text: what the exporter is given and what messages show. */
export function listenText(l: MetricsListen): string {
  if (l.kind === 'unix') return l.path;
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

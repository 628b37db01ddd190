/**
 * The monitor's published state (`monitor.json`, written by server/monitor/publish.ts every
 * second): its counters (server/monitor/counters.ts), the firewall, the worker it supervises and
 * the grants in its own record, by service. Counts and codes only: no address, user or device.
 * Read by `tumblerd status` (root) and the metrics exporter, both through the exact shape below.
 */
import { SERVICE_NAME_RE } from '../../shared/protocol/constants.js';
import { arrayOf, bool, int, object, oneOf, recordOf, text, type ShapeOf } from '../../shared/shape.js';

export const MONITOR_STATE_FORMAT = 'tumblerd-monitor';
export const MONITOR_STATE_VERSION = 1;
/** Incidents kept, newest last. */
export const LAST_INCIDENTS = 10;

/** Error codes (IPC_BAD_SHAPE, MONITOR_TTL, FIREWALL_TIMEOUT, ...). */
export const CODE_RE = /^[A-Z][A-Z0-9_]{0,47}$/;
/** Request ops and drift kinds. */
export const WORD_RE = /^[a-z][a-z0-9_]{0,23}$/;

const count = int(0, Number.MAX_SAFE_INTEGER);
const timeMs = int(0, Number.MAX_SAFE_INTEGER);
const pid = int(1, 2 ** 31 - 1);
const byCode = recordOf(CODE_RE, count, 0, 128);
const byWord = recordOf(WORD_RE, count, 0, 32);
/** Service names come from the monitor's own config (at most 63 services). */
const byService = recordOf(SERVICE_NAME_RE, count, 0, 64);

export const monitorStateShape = object({
  format: oneOf([MONITOR_STATE_FORMAT]),
  version: oneOf([MONITOR_STATE_VERSION]),
  tumblerVersion: text({ re: /^[0-9A-Za-z.+~-]{1,32}$/, what: 'a version string' }),
  pid,
  startedAtMs: timeMs,
  publishedAtMs: timeMs,
  firewall: object({
    backend: oneOf(['nftables', 'iptables']),
    intact: bool,
    repairs: count,
    repairFailures: count,
    grantsRestored: count,
    grantsClosedElsewhere: count,
    drift: byWord,
  }),
  worker: object({ starts: count, restarts: count }, { pid }),
  store: object({ backend: oneOf(['sqlite', 'postgres']), location: text({ maxChars: 1024, what: 'a path or URL' }) }),
  requests: byWord,
  incidents: byCode,
  refusals: byCode,
  failures: byCode,
  lastIncidents: arrayOf(object({ atMs: timeMs, code: text({ re: CODE_RE, what: 'an error code' }) }), 0, LAST_INCIDENTS),
  grants: object({ open: byService, opened: byService, closed: byService, expired: byService }),
});

export type MonitorState = ShapeOf<typeof monitorStateShape>;

/**
 * The monitor's re-check of a decoded request against its OWN config (OpenSSH's
 * monitor_valid_*): never the worker's view. Shape was checked by shared/ipc/decode.ts.
 * Returns the request with addresses in canonical text (the form the firewall and the kernel
 * list use). Which failure is an incident and which a refusal: verdict.ts.
 * Incidents: MONITOR_ADDRESS_SYNTAX (not a literal, or not of the stated family).
 * Refusals: MONITOR_ADDRESS_REFUSED (not unicast), MONITOR_PORT_RANGE (outside grant.ports),
 * MONITOR_UNKNOWN_SERVICE, MONITOR_FAMILY (the service has no target of that family),
 * MONITOR_TTL (outside 1..max_ttl).
 */
import type { CloseRequest, GrantKey, OpenRequest, ReconcileRequest } from '../../shared/ipc/index.js';
import { classifyIp, parseIp } from '../config/address.js';
import type { TumblerConfig } from '../config/types.js';
import { Incident, Refusal } from './verdict.js';

export function validateOpen(req: OpenRequest, cfg: TumblerConfig): OpenRequest {
  const key = validGrantKey(req, cfg);
  const service = cfg.services.find((s) => s.name === req.service);
  if (!service) throw new Refusal('MONITOR_UNKNOWN_SERVICE', 'open names a service that is not configured');
  if (!(req.family === 4 ? service.target4 : service.target6)) {
    throw new Refusal('MONITOR_FAMILY', `service has no IPv${req.family} target`);
  }
  if (req.ttl < 1 || req.ttl > cfg.maxTtlSec) throw new Refusal('MONITOR_TTL', `ttl outside 1..${cfg.maxTtlSec} seconds`);
  return { ...req, ...key };
}

export function validateClose(req: CloseRequest, cfg: TumblerConfig): CloseRequest {
  return { ...req, ...validGrantKey(req, cfg) };
}

/**
 * The keep list with every entry checked: a malformed entry is an incident; an entry our policy
 * refuses (a port of an older grant.ports, say) is left out — its kernel element, if any, goes —
 * and reported to `onRefused`.
 */
export function validateKeep(req: ReconcileRequest, cfg: TumblerConfig, onRefused: (r: Refusal) => void): GrantKey[] {
  const keep: GrantKey[] = [];
  for (const k of req.keep) {
    try {
      keep.push(validGrantKey(k, cfg));
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      onRefused(e);
    }
  }
  return keep;
}

/** Address: a unicast literal of the stated family; port: inside the forward range. */
function validGrantKey(k: GrantKey, cfg: TumblerConfig): GrantKey {
  const a = parseIp(k.address);
  if (!a) throw new Incident('MONITOR_ADDRESS_SYNTAX', 'address is not an IP address literal');
  if (a.family !== k.family) throw new Incident('MONITOR_ADDRESS_SYNTAX', 'address family differs from the family field');
  const kind = classifyIp(a);
  if (kind !== 'unicast') throw new Refusal('MONITOR_ADDRESS_REFUSED', `address is ${kind}, not unicast`);
  const { first, last } = cfg.forwardPorts;
  if (k.port < first || k.port > last) throw new Refusal('MONITOR_PORT_RANGE', `port outside grant.ports ${first}-${last}`);
  return { family: k.family, address: a.text, port: k.port };
}

/**
 * The monitor's re-check of a decoded request against its OWN config (OpenSSH's
 * monitor_valid_*): never the worker's view. Shape was checked by shared/ipc/decode.ts.
 * Returns the request with addresses in canonical text (the form the firewall and the kernel
 * list use). Errors: MONITOR_BAD_ADDRESS (not a literal, or not unicast: unspecified, loopback,
 * multicast, broadcast, IPv4-in-IPv6), MONITOR_FAMILY (address family differs from `family`, or the
 * service has no target of that family), MONITOR_PORT_RANGE (outside grant.ports),
 * MONITOR_UNKNOWN_SERVICE, MONITOR_TTL (outside 1..max_ttl).
 */
import { TumblerError } from '../../shared/errors.js';
import type { GrantKey, MonitorRequest } from '../../shared/ipc/index.js';
import { classifyIp, parseIp } from '../config/address.js';
import type { TumblerConfig } from '../config/types.js';

export function validateRequest(req: MonitorRequest, cfg: TumblerConfig): MonitorRequest {
  switch (req.op) {
    case 'hello':
    case 'list':
      return req;
    case 'close':
      return { ...req, ...validGrantKey(req, cfg) };
    case 'reconcile':
      return { ...req, keep: req.keep.map((k) => validGrantKey(k, cfg)) };
    case 'open': {
      const key = validGrantKey(req, cfg);
      const service = cfg.services.find((s) => s.name === req.service);
      if (!service) throw new TumblerError('MONITOR_UNKNOWN_SERVICE', 'open names a service that is not configured');
      if (!(req.family === 4 ? service.target4 : service.target6)) {
        throw new TumblerError('MONITOR_FAMILY', `service has no IPv${req.family} target`);
      }
      if (req.ttl < 1 || req.ttl > cfg.maxTtlSec) {
        throw new TumblerError('MONITOR_TTL', `ttl outside 1..${cfg.maxTtlSec} seconds`);
      }
      return { ...req, ...key };
    }
  }
}

/** Address: a unicast literal of the stated family; port: inside the forward range. */
function validGrantKey(k: GrantKey, cfg: TumblerConfig): GrantKey {
  const a = parseIp(k.address);
  if (!a) throw new TumblerError('MONITOR_BAD_ADDRESS', 'address is not an IP address literal');
  if (a.family !== k.family) throw new TumblerError('MONITOR_FAMILY', 'address family differs from the family field');
  const kind = classifyIp(a);
  if (kind !== 'unicast') throw new TumblerError('MONITOR_BAD_ADDRESS', `address is ${kind}, not unicast`);
  const { first, last } = cfg.forwardPorts;
  if (k.port < first || k.port > last) throw new TumblerError('MONITOR_PORT_RANGE', `port outside grant.ports ${first}-${last}`);
  return { family: k.family, address: a.text, port: k.port };
}

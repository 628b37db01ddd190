/**
 * What the firewall must enforce, derived from the config and re-validated (values.ts), shared by
 * the nftables and iptables renderers:
 *  - DNAT: grants apply only to TCP addressed to this server's own addresses (cfg.addresses);
 *  - drop (never reject) TCP to the knock range and to the forward range unless DNAT'd (an
 *    unmapped forward port would otherwise answer with a RST);
 *  - drop TCP to each service port whose target is on this host (target host in cfg.addresses),
 *    on every local address and both families, plus each target's exact address and port;
 *  - break-glass sources may reach every service target port directly.
 */
import type { PortRange, ServiceConfig, TumblerConfig } from '../../config/types.js';
import { checkAddress, checkCidr, checkPort, checkService } from './values.js';
import { TumblerError } from '../../../shared/errors.js';
import type { IpFamily } from '../../../shared/net/address.js';

export interface PlanTarget {
  readonly host: string;
  readonly port: number;
}

export interface PlanService {
  readonly name: string;
  readonly id: number;
  readonly target4: PlanTarget | null;
  readonly target6: PlanTarget | null;
}

export interface FirewallPlan {
  readonly knock: PortRange;
  readonly forward: PortRange;
  readonly addresses4: readonly string[];
  readonly addresses6: readonly string[];
  readonly services: readonly PlanService[];
  readonly localServicePorts: readonly number[]; // targets on this host: dropped on every local address
  readonly targets4: readonly PlanTarget[];
  readonly targets6: readonly PlanTarget[];
  readonly servicePorts: readonly number[]; // every target port (break-glass accept)
  readonly breakGlass4: readonly string[];
  readonly breakGlass6: readonly string[];
  readonly maxTtlSec: number;
}

function range(r: PortRange, what: string): PortRange {
  checkPort(r.first);
  checkPort(r.last);
  if (r.first > r.last) throw new TumblerError('FIREWALL_BAD_VALUE', `invalid ${what} port range`);
  return { first: r.first, last: r.last };
}

function target(family: IpFamily, t: ServiceConfig['target4']): PlanTarget | null {
  return t ? { host: checkAddress(family, t.host), port: checkPort(t.port) } : null;
}

export function makePlan(cfg: TumblerConfig): FirewallPlan {
  const addresses4: string[] = [];
  const addresses6: string[] = [];
  for (const a of cfg.addresses) {
    if (a.includes(':')) addresses6.push(checkAddress(6, a));
    else addresses4.push(checkAddress(4, a));
  }
  const services = cfg.services.map((s): PlanService => {
    if (!Number.isInteger(s.id) || s.id < 1 || s.id > 63) throw new TumblerError('FIREWALL_BAD_VALUE', 'invalid service id');
    return { name: checkService(s.name), id: s.id, target4: target(4, s.target4), target6: target(6, s.target6) };
  });
  const local = new Set<number>();
  const all = new Set<number>();
  const targets4: PlanTarget[] = [];
  const targets6: PlanTarget[] = [];
  for (const s of services) {
    for (const [t, mine, list] of [[s.target4, addresses4, targets4], [s.target6, addresses6, targets6]] as const) {
      if (!t) continue;
      all.add(t.port);
      if (!list.some((x) => x.host === t.host && x.port === t.port)) list.push(t);
      if (mine.includes(t.host)) local.add(t.port);
    }
  }
  const breakGlass4: string[] = [];
  const breakGlass6: string[] = [];
  for (const c of cfg.breakGlass) {
    const { family, cidr } = checkCidr(c);
    (family === 4 ? breakGlass4 : breakGlass6).push(cidr);
  }
  return {
    knock: range(cfg.knockPorts, 'knock'),
    forward: range(cfg.forwardPorts, 'forward'),
    addresses4,
    addresses6,
    services,
    localServicePorts: [...local].sort((a, b) => a - b),
    targets4,
    targets6,
    servicePorts: [...all].sort((a, b) => a - b),
    breakGlass4,
    breakGlass6,
    maxTtlSec: cfg.maxTtlSec,
  };
}

/** The target of `service` for `family`; FIREWALL_NO_TARGET when the service or that target is not configured. */
export function targetOf(plan: FirewallPlan, service: string, family: IpFamily): { svc: PlanService; target: PlanTarget } {
  const svc = plan.services.find((s) => s.name === service);
  const t = svc ? (family === 4 ? svc.target4 : svc.target6) : null;
  if (!svc || !t) throw new TumblerError('FIREWALL_NO_TARGET', `service has no IPv${family} target`);
  return { svc, target: t };
}

/** FIREWALL_BAD_VALUE unless `port` is inside the forward range. */
export function checkForwardPort(plan: FirewallPlan, port: number): number {
  checkPort(port);
  if (port < plan.forward.first || port > plan.forward.last) throw new TumblerError('FIREWALL_BAD_VALUE', 'grant port outside the forward range');
  return port;
}

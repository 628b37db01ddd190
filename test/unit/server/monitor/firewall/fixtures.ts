/**
 * Shared fixtures of the firewall tests: one config and one lab topology (RFC 5737 / 2001:db8::/32):
 *
 *   cli 198.51.100.2, 2001:db8:1::2 ── c0 ┐
 *   atk 198.51.100.18, 2001:db8:2::2 ─ a0 ┤ srv: 192.0.2.1 and 2001:db8::1 on lo (service address)
 *   adm 203.0.113.2 (break-glass) ──── b0 ┤
 *                                     i0 ┘── int 192.0.2.130 (internal host, gateway case)
 *
 * Listeners: srv :22 banner "srv-ssh" (both families), int :8080 banner "int-web".
 */
import type { TumblerConfig } from '../../../../../server/config/types.js';
import { NetnsLab } from '../../../../helpers/netns.js';

export const SERVER4 = '192.0.2.1';
export const SERVER6 = '2001:db8::1';
export const CLIENT4 = '198.51.100.2';
export const CLIENT6 = '2001:db8:1::2';
export const ATTACKER4 = '198.51.100.18';
export const ATTACKER6 = '2001:db8:2::2';
export const ADMIN4 = '203.0.113.2';
export const INTERNAL4 = '192.0.2.130';
export const SSH_PORT = 22;
export const WEB_PORT = 8080;
export const KNOCK = { first: 40000, last: 40999 };
export const FORWARD = { first: 50000, last: 50999 };

export function testConfig(firewall: 'nftables' | 'iptables'): TumblerConfig {
  return {
    file: '/nonexistent/tumblerd.toml',
    interfaces: ['c0'],
    addresses: [SERVER4, SERVER6],
    user: 'nobody',
    store: { backend: 'sqlite', path: '/nonexistent/tumbler.db' },
    fleet: { gateway: 'gw-test', gateways: [[SERVER4, SERVER6]] },
    logFormat: 'json',
    firewall,
    knockPorts: KNOCK,
    timestampWindowSec: 30,
    graceSec: 30,
    forwardPorts: FORWARD,
    defaultTtlSec: 30,
    maxTtlSec: 300,
    breakGlass: ['203.0.113.0/28'],
    services: [
      { name: 'ssh', id: 1, target4: { host: SERVER4, port: SSH_PORT }, target6: { host: SERVER6, port: SSH_PORT } },
      { name: 'web', id: 2, target4: { host: INTERNAL4, port: WEB_PORT } },
    ],
  };
}

export interface Topology {
  readonly lab: NetnsLab;
  readonly srv: string;
  readonly cli: string;
  readonly atk: string;
  readonly adm: string;
  readonly int: string;
}

/** Build the namespaces, links, routes and listeners (IP forwarding on in srv only). */
export async function buildTopology(purpose: string): Promise<Topology> {
  const lab = new NetnsLab(purpose);
  try {
    const srv = lab.addNamespace('srv');
    const cli = lab.addNamespace('cli');
    const atk = lab.addNamespace('atk');
    const adm = lab.addNamespace('adm');
    const int = lab.addNamespace('int');
    lab.addAddress(srv, 'lo', `${SERVER4}/32`);
    lab.addAddress(srv, 'lo', `${SERVER6}/128`);
    lab.link({ ns: srv, ifname: 'c0', addresses: ['198.51.100.1/28', '2001:db8:1::1/64'] }, { ns: cli, ifname: 'eth0', addresses: [`${CLIENT4}/28`, `${CLIENT6}/64`] });
    lab.link({ ns: srv, ifname: 'a0', addresses: ['198.51.100.17/28', '2001:db8:2::1/64'] }, { ns: atk, ifname: 'eth0', addresses: [`${ATTACKER4}/28`, `${ATTACKER6}/64`] });
    lab.link({ ns: srv, ifname: 'b0', addresses: ['203.0.113.1/28'] }, { ns: adm, ifname: 'eth0', addresses: [`${ADMIN4}/28`] });
    lab.link({ ns: srv, ifname: 'i0', addresses: ['192.0.2.129/26'] }, { ns: int, ifname: 'eth0', addresses: [`${INTERNAL4}/26`] });
    for (const [ns, gw4, gw6] of [[cli, '198.51.100.1', '2001:db8:1::1'], [atk, '198.51.100.17', '2001:db8:2::1']] as const) {
      lab.route(ns, '192.0.2.0/24', gw4);
      lab.route(ns, '2001:db8::/64', gw6);
    }
    lab.route(adm, '192.0.2.0/24', '203.0.113.1');
    lab.route(int, '198.51.100.0/24', '192.0.2.129');
    lab.route(int, '203.0.113.0/24', '192.0.2.129');
    lab.sysctl(srv, 'net.ipv4.ip_forward', '1');
    await lab.tcpServer(srv, SSH_PORT, 'srv-ssh');
    await lab.tcpServer(int, WEB_PORT, 'int-web');
    return { lab, srv, cli, atk, adm, int };
  } catch (e) {
    lab.cleanup();
    throw e;
  }
}

/** Poll `check` every 200 ms until it returns true or `timeoutMs` passes (bounded). */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1_000 && Date.now() < deadline; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

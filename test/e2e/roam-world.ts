/**
 * Worlds for the roaming end-to-end tests (test/e2e/world.ts's World with other networks; the same
 * real tumblerd, nftables, libpcap, sshd and unprivileged client through the setuid helper).
 *
 * RoamWorld: a client behind a home router that masquerades IPv4 (its public address can change)
 * and routes IPv6, and a dual-stack server:
 *
 *   cli 192.0.2.2      ── rtr 192.0.2.1     [NAT] 198.51.100.10 (→ .11)  ── srv 198.51.100.1
 *       2001:db8:a::2         2001:db8:a::1        2001:db8:b::10               2001:db8:b::1
 *
 * Ipv6OnlyWorld: client 2001:db8:c::2 and server 2001:db8:c::1 on one link, no IPv4 at all.
 * Namespace names carry the tag given (tests use "nc...") and this process's pid; the router is
 * the namespace World calls `lan`. Nothing touches the machine's own interfaces.
 */
import { inNs, must } from '../helpers/netns.js';
import { World } from './world.js';

export const ROAM = {
  cli4: '192.0.2.2', cli6: '2001:db8:a::2', lan4: '192.0.2.1', lan6: '2001:db8:a::1',
  public4: '198.51.100.10', public4b: '198.51.100.11', wan6: '2001:db8:b::10',
  srv4: '198.51.100.1', srv6: '2001:db8:b::1',
} as const;

export const V6ONLY = { cli: '2001:db8:c::2', srv: '2001:db8:c::1' } as const;

const ip = (args: string[]): string => must(['ip', ...args]);
const nft = (ns: string, rules: string): string => must([...inNs(ns), 'nft', '-f', '-'], { input: rules });

/** A veth pair between two namespaces, addresses added (IPv6 without DAD), both ends up. */
function link(a: [string, string, string[]], b: [string, string, string[]]): void {
  ip(['-n', a[0], 'link', 'add', a[1], 'type', 'veth', 'peer', 'name', b[1], 'netns', b[0]]);
  for (const [ns, dev, addrs] of [a, b]) {
    for (const cidr of addrs) ip(['-n', ns, 'addr', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : [])]);
    ip(['-n', ns, 'link', 'set', dev, 'up']);
  }
}

export class RoamWorld extends World {
  /** The router's current public IPv4 address. */
  public4: string = ROAM.public4;

  static createRoam(tag: string): RoamWorld {
    return World.built(new RoamWorld(tag), (w) => {
      w.buildNetwork();
      w.prepareFiles();
      w.startSshd(w.ns.srv, [ROAM.srv4, ROAM.srv6]);
    });
  }

  get rtr(): string {
    return this.ns.lan;
  }

  protected override buildNetwork(): void {
    const { cli, srv } = this.ns;
    const rtr = this.rtr;
    this.addNamespaces([cli, rtr, srv]);
    link([cli, 'eth0', [`${ROAM.cli4}/24`, `${ROAM.cli6}/64`]], [rtr, 'lan', [`${ROAM.lan4}/24`, `${ROAM.lan6}/64`]]);
    link([rtr, 'wan', [`${ROAM.public4}/24`, `${ROAM.wan6}/64`]], [srv, 'eth0', [`${ROAM.srv4}/24`, `${ROAM.srv6}/64`]]);
    ip(['-n', cli, 'route', 'add', '198.51.100.0/24', 'via', ROAM.lan4]);
    ip(['-n', cli, '-6', 'route', 'add', '2001:db8:b::/64', 'via', ROAM.lan6]);
    ip(['-n', srv, '-6', 'route', 'add', '2001:db8:a::/64', 'via', ROAM.wan6]);
    for (const key of ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']) must([...inNs(rtr), 'sysctl', '-qw', key]);
    // IPv4 leaves through the router's public address (masquerade); IPv6 is routed as is.
    nft(rtr, 'table ip nat {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname "wan" masquerade\n }\n}\n');
  }

  override writeConfig(o: { window?: number; grace?: number; ttl?: number }): void {
    super.writeConfig({
      ...o,
      addresses: [ROAM.srv4, ROAM.srv6],
      services: `[services.ssh]\nid = 1\ntarget = "${ROAM.srv4}:22"\ntarget6 = "[${ROAM.srv6}]:22"`,
    });
  }

  /** The ISP gives the router another public IPv4 address (masquerade's mappings go with the old one). */
  setPublicAddress(address: string): void {
    ip(['-n', this.rtr, 'addr', 'del', `${this.public4}/24`, 'dev', 'wan']);
    ip(['-n', this.rtr, 'addr', 'add', `${address}/24`, 'dev', 'wan']);
    this.public4 = address;
  }

  /** Drop (or stop dropping) everything of one family the router would forward. */
  blackhole(family: 4 | 6, on: boolean): void {
    const table = `hole${family}`;
    if (on) {
      nft(this.rtr, `table inet ${table} {\n chain forward_drop {\n  type filter hook forward priority -10; policy accept;\n  meta nfproto ipv${family} drop\n }\n}\n`);
    } else {
      nft(this.rtr, `delete table inet ${table}\n`);
    }
  }
}

export class Ipv6OnlyWorld extends World {
  static createV6(tag: string): Ipv6OnlyWorld {
    return World.built(new Ipv6OnlyWorld(tag), (w) => {
      w.buildNetwork();
      w.prepareFiles();
      w.startSshd(w.ns.srv, V6ONLY.srv);
    });
  }

  protected override buildNetwork(): void {
    const { cli, srv } = this.ns;
    this.addNamespaces([cli, srv]);
    link([cli, 'eth0', [`${V6ONLY.cli}/64`]], [srv, 'eth0', [`${V6ONLY.srv}/64`]]);
  }

  override writeConfig(o: { window?: number; grace?: number; ttl?: number }): void {
    super.writeConfig({ ...o, addresses: [V6ONLY.srv], services: `[services.ssh]\nid = 1\ntarget6 = "[${V6ONLY.srv}]:22"` });
  }
}

/**
 * End to end with no IPv4 anywhere (roam-world.ts's Ipv6OnlyWorld): an IPv6-only tumblerd (its one
 * address 2001:db8:c::1) and an IPv6-only client, through the real nftables, libpcap, sshd and
 * the setuid helper: the knock (a probe first: a fresh profile), the grant in the IPv6 map, the
 * port open for the client only, an ssh login through `tumbler proxy`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ipv6OnlyWorld, V6ONLY } from './roam-world.js';

const isRoot = process.getuid?.() === 0;

describe('tumbler on IPv6 only', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  let w: Ipv6OnlyWorld;
  let profile: string;

  before(async () => {
    w = Ipv6OnlyWorld.createV6('nc6');
    profile = w.enroll('alice', { services: 'ssh' });
    await w.startDaemon();
  });
  after(() => {
    w?.destroy();
  });

  test('knock and grant: the port opens in the IPv6 map for the client\'s address; the service port stays silent', () => {
    const r = w.client(['open', profile, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as { server: string; port: number; observedAddress: string };
    assert.deepEqual([o.server, o.observedAddress], [V6ONLY.srv, V6ONLY.cli]);
    assert.equal(w.grantCount(6), 1);
    assert.equal(w.grantCount(4), 0);
    assert.equal(w.probe(w.ns.cli, V6ONLY.srv, o.port), 'connected');
    assert.equal(w.probe(w.ns.cli, V6ONLY.srv, 22), 'timeout');
  });

  test('ssh through `tumbler proxy` logs in over IPv6', () => {
    const r = w.ssh(w.ns.cli, { profile, host: 'work', command: 'echo $SSH_CONNECTION' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${V6ONLY.cli} \\d+ ${V6ONLY.srv} 22$`, 'm'));
  });
});

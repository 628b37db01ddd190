/**
 * End to end where users are (issue 14), on real parts in network namespaces (roam-world.ts): a
 * client behind a masquerading NAT router, a dual-stack server, the real tumblerd, nftables,
 * libpcap and sshd, and `tumbler` as an unprivileged user through the setuid helper.
 * Assertions are what a user observes: an exit code and its error code, a connection that
 * succeeds or not, an ssh login.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { typoRejectedByBundle } from '../helpers/wrong-password.js';
import { errorCode } from '../integration/admin-cli.helpers.js';
import { ROAM, RoamWorld } from './roam-world.js';
import { PASSWORD } from './world.js';

const isRoot = process.getuid?.() === 0;
const TTL = 30;

interface Opened { server: string; port: number; observedAddress: string }
interface Result { code: number | null; opened?: Opened; stderr: string }

describe('tumbler where users are: NAT, roaming, dual stack, causes', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  let w: RoamWorld;
  let natOnly: string; // a profile whose bundle lists only the server's IPv4 address (so every knock crosses the NAT)
  let dual: string; // both addresses: one profile, one ssh Host

  before(async () => {
    w = RoamWorld.createRoam('ncr');
    w.writeConfig({ ttl: TTL });
    natOnly = w.enroll('alice', { services: 'ssh', server: ROAM.srv4 });
    dual = w.enroll('bob', { services: 'ssh' });
    await w.startDaemon();
  });
  after(() => {
    w?.destroy();
  });

  const open = (profile: string, extra: string[] = [], o: { prefix?: string[] } = {}): Result => {
    const r = w.client(['open', profile, '--json', ...extra], { prefix: o.prefix });
    return { code: r.code, opened: r.code === 0 ? (JSON.parse(r.stdout) as Opened) : undefined, stderr: r.stderr };
  };

  test('behind NAT: the first knock works without any flag, bound to the NAT\'s public address; the port opens for it', () => {
    const o = open(natOnly);
    assert.equal(o.code, 0, o.stderr);
    assert.equal(o.opened!.observedAddress, ROAM.public4);
    assert.equal(o.opened!.server, ROAM.srv4);
    assert.equal(w.probe(w.ns.cli, ROAM.srv4, o.opened!.port), 'connected');
    assert.equal(w.probe(w.ns.cli, ROAM.srv4, 22), 'timeout'); // the service port itself stays closed
  });

  test('the NAT\'s public address changes: the next knock works by itself, and again after it changes back', () => {
    for (const address of [ROAM.public4b, ROAM.public4]) {
      w.setPublicAddress(address);
      const o = open(natOnly);
      assert.equal(o.code, 0, o.stderr);
      assert.equal(o.opened!.observedAddress, address);
      assert.equal(w.probe(w.ns.cli, ROAM.srv4, o.opened!.port), 'connected');
    }
  });

  test('ssh through `tumbler proxy` from behind the NAT logs in; the server sees the NAT\'s address', () => {
    w.setPublicAddress(ROAM.public4b);
    const r = w.ssh(w.ns.cli, { profile: natOnly, host: 'work', command: 'echo $SSH_CONNECTION' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${ROAM.public4b.replace(/\./g, '\\.')} \\d+ ${ROAM.srv4.replace(/\./g, '\\.')} 22$`, 'm'));
  });

  test('dual stack, one profile and one ssh Host: IPv4 blackholed → in over IPv6; IPv6 blackholed → in over IPv4 (through the NAT)', () => {
    w.blackhole(4, true);
    try {
      const viaSsh = w.ssh(w.ns.cli, { profile: dual, host: 'work', command: 'echo $SSH_CONNECTION' });
      assert.equal(viaSsh.code, 0, viaSsh.stderr);
      assert.match(viaSsh.stdout, new RegExp(`^${ROAM.cli6} \\d+ ${ROAM.srv6} 22$`, 'm'));
      const o = open(dual, ['--timeout', '300']);
      assert.equal(o.code, 0, o.stderr);
      assert.equal(o.opened!.server, ROAM.srv6);
    } finally {
      w.blackhole(4, false);
    }
    w.blackhole(6, true);
    try {
      const o = open(dual, ['--timeout', '300']);
      assert.equal(o.code, 0, o.stderr);
      assert.equal(o.opened!.server, ROAM.srv4);
      assert.equal(o.opened!.observedAddress, w.public4);
      assert.equal(w.probe(w.ns.cli, ROAM.srv4, o.opened!.port), 'connected');
    } finally {
      w.blackhole(6, false);
    }
  });

  test('two gateway addresses, the first unreachable: `tumbler open` fails over to the second, which it then tries first', () => {
    // What a bundle of a two-gateway fleet lists; until [fleet] gateways can be configured, the
    // test writes the profile's gateways the way such a bundle would.
    const carol = w.enroll('carol', { services: 'ssh', server: ROAM.srv4 });
    const file = join(w.clientHome, '.config', 'tumbler', 'profiles', `${carol}.json`);
    const p = JSON.parse(readFileSync(file, 'utf8')) as { gateways: string[][] };
    p.gateways = [['198.51.100.99'], [ROAM.srv4]];
    writeFileSync(file, JSON.stringify(p));
    const first = open(carol, ['--timeout', '300']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.opened!.server, ROAM.srv4);
    const t0 = Date.now();
    const next = w.client(['open', carol, '--json', '--timeout', '2000']);
    assert.equal(next.code, 0, next.stderr);
    assert.ok(Date.now() - t0 < 2000, 'the gateway that answered is tried first (no wait on the dead one)');
    assert.equal(w.client(['open', carol, '--gateway', '198.51.100.99', '--timeout', '200']).code, 5);
  });

  test('a mistyped password at enroll: the specific error (exit 8), no profile written', async () => {
    const bundle = join(w.dir, 'dave.bundle');
    const r = w.admin(['user', 'add', 'dave', '--services', 'ssh', '--password-file', w.passwordFile, '--out', bundle]);
    assert.equal(r.code, 0, r.stderr);
    chmodSync(bundle, 0o644);
    const typo = join(w.clientHome, 'typo');
    writeFileSync(typo, `${await typoRejectedByBundle(PASSWORD, readFileSync(bundle, 'utf8'))}\n`, { mode: 0o600 });
    const ids = w.clientIds();
    chownSync(typo, ids.uid, ids.gid);
    const e = w.client(['enroll', bundle, '--name', 'dave', '--password-file', typo]);
    assert.equal(e.code, 8, e.stderr);
    assert.equal(errorCode(e), 'PASSWORD_WRONG');
    assert.equal(w.client(['status', 'dave']).code, 3);
  });

  test('the local clock 5 min ahead, then 5 min behind: the clock error (exit 6); with the clock right the same profile works', () => {
    for (const [skew, code] of [['+300s', 'CLOCK_AHEAD'], ['-300s', 'CLOCK_BEHIND']] as const) {
      const o = open(natOnly, [], { prefix: ['faketime', '-f', skew] });
      assert.equal(o.code, 6, o.stderr);
      assert.equal(errorCode(o), code);
    }
    const o = open(natOnly);
    assert.equal(o.code, 0, o.stderr);
  });

  test('server down: "server or path silent" (exit 5)', async () => {
    await w.stopDaemon();
    const o = open(natOnly, ['--timeout', '300']);
    assert.equal(o.code, 5, o.stderr);
    assert.equal(errorCode(o), 'SERVER_SILENT');
  });
});

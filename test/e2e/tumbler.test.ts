/**
 * End to end, on real parts in network namespaces: tumblerd (monitor + unprivileged worker),
 * nftables, libpcap, OpenSSH server and client, and the `tumbler` client running as an
 * unprivileged user through the setuid raw-socket helper. Assertions are what a user observes:
 * a connection or login succeeds or not, and the kernel's grant map.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CapturedSyn } from './tools/pcap-file.js';
import { until } from '../helpers/until.js';
import { MONITOR_NODE_FLAGS, WORKER_NODE_FLAGS } from '../../server/monitor/node-flags.js';
import { ATTACKER_ADDR, CLIENT_ADDR, INTERNAL_ADDR, KNOCK_RANGE, REPO, SERVER_ADDR, WORKER_USER, World } from './world.js';

const isRoot = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TTL = 5;

interface Opened { port: number; expiresAt: number; observedAddress: string }

describe('tumbler end to end', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  let w: World;
  let alice: string;
  let bob: string;

  before(async () => {
    w = World.create('e');
    w.writeConfig({ ttl: TTL, grace: 10 });
    alice = w.enroll('alice');
    bob = w.enroll('bob');
    await w.startDaemon();
  });
  after(async () => {
    w?.destroy();
  });

  const open = (profile: string, extra: string[] = [], o: { prefix?: string[] } = {}): { code: number | null; opened?: Opened; stderr: string } => {
    const r = w.client(['open', profile, '--json', ...extra], { prefix: o.prefix });
    return { code: r.code, opened: r.code === 0 ? (JSON.parse(r.stdout) as Opened) : undefined, stderr: r.stderr };
  };
  const grantCount = (): number => w.grantCount();
  /** Capture knock SYNs on the server's interface while `fn` runs. */
  const capture = <T>(fn: () => T | Promise<T>) => w.captureKnockSyns(w.ns.srv, fn);
  const sendSyns = (ns: string, src: string, args: string[]) => ({ status: w.sendSyns(ns, src, SERVER_ADDR, args).code });
  const asPackets = (syns: CapturedSyn[]) => syns.slice(0, 3).map((s) => `${s.dstPort}:${s.isn}`).join(',');

  test('0. the worker that parses packets runs as the unprivileged user with no capabilities and no_new_privs', () => {
    const pid = w.workerPid();
    assert.ok(pid);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1]?.trim().split(/\s+/) ?? [];
    const worker = Number(spawnSync('id', ['-u', WORKER_USER], { encoding: 'utf8' }).stdout.trim());
    assert.deepEqual(field('Uid').map(Number), [worker, worker, worker, worker]);
    assert.ok(field('Gid').every((g) => Number(g) !== 0));
    assert.ok(!field('Groups').includes('0'));
    for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) assert.equal(field(cap)[0], '0000000000000000', cap);
    // Set by the worker itself (issue 12 §7), not only inherited from systemd's NoNewPrivileges.
    assert.deepEqual(field('NoNewPrivs'), ['1']);
  });

  test('0a. the monitor and the worker run with the V8 flags sized for their jobs (node-flags.ts)', () => {
    const argv = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const monitor = argv(w.daemon!.pid!);
    const worker = argv(w.workerPid()!);
    for (const f of MONITOR_NODE_FLAGS) assert.ok(monitor.includes(f), f);
    for (const f of WORKER_NODE_FLAGS) assert.ok(worker.includes(f), f);
    assert.ok(!worker.includes('--jitless'), 'the packet path keeps its compiler');
  });

  test('0b. SIGUSR1 to the monitor logs the worker\'s counters and opens no debugger port', async () => {
    const from = w.daemonLog.length;
    process.kill(w.daemon!.pid!, 'SIGUSR1');
    await w.waitForLog('"worker.stats"', 5_000, from);
    await sleep(300);
    assert.equal(w.daemon!.exitCode, null);
    const listening = spawnSync('ip', ['netns', 'exec', w.ns.srv, 'ss', '-Htln'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(listening, /:9229\b/);
  });

  test('1. before any knock: service, knock and forward ports are silent (timeout, not RST)', () => {
    for (const ns of [w.ns.cli, w.ns.atk]) {
      assert.equal(w.probe(ns, SERVER_ADDR, 22), 'timeout');
      assert.equal(w.probe(ns, SERVER_ADDR, 40000), 'timeout');
      assert.equal(w.probe(ns, SERVER_ADDR, 40777), 'timeout');
      assert.equal(w.probe(ns, SERVER_ADDR, 50123), 'timeout');
    }
  });

  test('2. ssh with ProxyCommand `tumbler proxy` knocks, logs in (key auth) and runs a command', () => {
    const r = w.ssh(w.ns.cli, { profile: alice, host: 'work', command: 'echo tumbler-login-ok' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /tumbler-login-ok/);
  });

  test('3. the granted port opens for the client only; the attacker gets silence', () => {
    const o = open(alice);
    assert.equal(o.code, 0, o.stderr);
    assert.equal(o.opened!.observedAddress, CLIENT_ADDR);
    assert.equal(w.probe(w.ns.atk, SERVER_ADDR, o.opened!.port), 'timeout');
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, o.opened!.port), 'connected');
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, 22), 'timeout'); // the real port stays closed
  });

  let captured: CapturedSyn[] = [];
  test('4. a captured knock replayed from the attacker and from the client address grants nothing', async () => {
    const { result, syns } = await capture(() => open(alice));
    assert.equal(result.code, 0, result.stderr);
    assert.ok(syns.length >= 3);
    captured = syns;
    await sleep(TTL * 1000 + 1500); // let the grant lapse
    assert.equal(grantCount(), 0);
    assert.equal(sendSyns(w.ns.atk, ATTACKER_ADDR, ['--packets', asPackets(syns)]).status, 0);
    assert.equal(sendSyns(w.ns.cli, CLIENT_ADDR, ['--packets', asPackets(syns)]).status, 0);
    await sleep(500);
    assert.equal(grantCount(), 0);
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, result.opened!.port), 'timeout');
  });

  test('5. an on-path copy sent first from the attacker gets nothing and does not lock the client out', async () => {
    // The client's SYNs are held back on the wire (dropped where they enter the bridge) while copied.
    const hold = 'table netdev hold {\n chain in {\n  type filter hook ingress device "vcli" priority 0; policy drop;\n }\n}\n';
    assert.equal(spawnSync('ip', ['netns', 'exec', w.ns.lan, 'nft', '-f', '-'], { input: hold }).status, 0);
    const cap = await w.startCapture(w.ns.cli, 'tcp[13] == 2');
    const lost = open(alice, ['--timeout', '300']);
    const held = await cap.stop();
    assert.equal(spawnSync('ip', ['netns', 'exec', w.ns.lan, 'nft', 'delete', 'table', 'netdev', 'hold']).status, 0);
    assert.equal(lost.code, 5); // no reply: the knock never arrived
    assert.ok(held.length >= 3);
    assert.equal(sendSyns(w.ns.atk, ATTACKER_ADDR, ['--packets', asPackets(held)]).status, 0);
    await sleep(500);
    assert.deepEqual(w.grantSources().filter((a) => a === ATTACKER_ADDR), []); // (other grants may lapse meanwhile)
    const o = open(alice);
    assert.equal(o.code, 0, o.stderr);
  });

  test('6. spoofed SYNs from the client address to knock ports during a knock do not break it', async () => {
    const spoofer = spawn('ip', ['netns', 'exec', w.ns.atk, process.execPath, '--import', 'tsx', join(REPO, 'test/e2e/tools/send-syns.ts'),
      '--src', CLIENT_ADDR, '--dst', SERVER_ADDR, '--random', '6000', '--rate', '3000', '--range', `${KNOCK_RANGE.first}-${KNOCK_RANGE.last}`], { cwd: REPO, stdio: 'ignore' });
    try {
      await sleep(800);
      for (let i = 0; i < 2; i++) {
        const o = open(alice);
        assert.equal(o.code, 0, o.stderr);
      }
    } finally {
      spoofer.kill('SIGKILL');
    }
  });

  test('7. expiry: new connections fail after the TTL while an established ssh session keeps working', async () => {
    const argv = w.sshArgv(w.ns.cli, { profile: alice, host: 'work', command: `sleep ${TTL + 3}; echo still-alive` });
    const ssh = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    ssh.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((r) => ssh.once('exit', r));
    assert.equal(code, 0);
    assert.match(out, /still-alive/);
    assert.equal(grantCount(), 0); // the grant lapsed while the session was in use
  });

  test('8. revoking user A stops A within a second and closes its grant; user B keeps working', async () => {
    const a = open(alice);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, a.opened!.port), 'connected');
    const r = w.admin(['user', 'revoke', 'alice', '--close-grants']);
    assert.equal(r.code, 0, r.stderr);
    await sleep(1000);
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, a.opened!.port), 'timeout');
    assert.equal(open(alice, ['--timeout', '300']).code, 5);
    const b = open(bob);
    assert.equal(b.code, 0, b.stderr);
  });

  test('9. a lost reply: the client retries and gets in; the next knock works too', async () => {
    // Drop the first SYN-ACK reaching the client (in the client's own namespace).
    // `quota until 1 bytes` matches packets until one byte has passed it: exactly the first reply.
    const rules = 'table ip lossy {\n chain pre {\n  type filter hook prerouting priority -300; policy accept;\n  tcp flags & (syn | ack) == (syn | ack) tcp sport 40000-40999 quota until 1 bytes drop\n }\n}\n';
    assert.equal(spawnSync('ip', ['netns', 'exec', w.ns.cli, 'nft', '-f', '-'], { input: rules }).status, 0);
    try {
      const o = open(bob);
      assert.equal(o.code, 0, o.stderr);
      const dropped = spawnSync('ip', ['netns', 'exec', w.ns.cli, 'nft', '-j', 'list', 'table', 'ip', 'lossy'], { encoding: 'utf8' }).stdout;
      assert.match(dropped, /"used":\s*[1-9]/); // the reply really was dropped once
    } finally {
      spawnSync('ip', ['netns', 'exec', w.ns.cli, 'nft', 'delete', 'table', 'ip', 'lossy']);
    }
    const next = open(bob);
    assert.equal(next.code, 0, next.stderr);
  });

  test('10. two devices of one user roll independently; clock skew inside the window works, beyond it fails', () => {
    const laptop = w.enroll('carol', { device: 'laptop' });
    const phone = w.enroll('carol', { device: 'phone' });
    for (const p of [laptop, phone, laptop, phone]) {
      const o = open(p);
      assert.equal(o.code, 0, `${p}: ${o.stderr}`);
    }
    const skewedOk = open(laptop, [], { prefix: ['faketime', '-f', '+20s'] });
    assert.equal(skewedOk.code, 0, skewedOk.stderr);
    const skewedBad = open(phone, ['--timeout', '300'], { prefix: ['faketime', '-f', '+120s'] });
    assert.ok(skewedBad.code === 5 || skewedBad.code === 6, `exit ${skewedBad.code}`);
    assert.match(skewedBad.stderr, /clock/i);
    assert.equal(open(phone).code, 0); // with the clock right again the same sequence still works
  });

  test('11. gateway mode: a grant forwards to sshd on the internal host', () => {
    const r = w.ssh(w.ns.cli, { profile: bob, service: 'inner', host: 'inner', command: 'echo $SSH_CONNECTION' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(` ${INTERNAL_ADDR.replace(/\./g, '\\.')} 22$`, 'm'));
  });

  test('12. worker killed with SIGKILL is restarted by the monitor; knocks work; no sequence is reusable', async () => {
    const { result, syns } = await capture(() => open(bob));
    assert.equal(result.code, 0, result.stderr);
    const pid = w.workerPid();
    assert.ok(pid);
    const from = w.daemonLog.length;
    process.kill(pid!, 'SIGKILL');
    await w.waitForLog('"worker.ready"', 20_000, from);
    const o = open(bob);
    assert.equal(o.code, 0, o.stderr);
    await sleep(TTL * 1000 + 1500);
    assert.equal(sendSyns(w.ns.cli, CLIENT_ADDR, ['--packets', asPackets(syns)]).status, 0);
    assert.equal(sendSyns(w.ns.cli, CLIENT_ADDR, ['--packets', asPackets(captured)]).status, 0);
    await sleep(500);
    assert.equal(grantCount(), 0);
  });

  test('7b. tumblerd killed with SIGKILL: its orphaned worker exits by itself, and grants expire in the kernel', async () => {
    const o = open(bob);
    assert.equal(o.code, 0, o.stderr);
    const worker = w.workerPid();
    assert.ok(worker);
    await w.stopDaemon('SIGKILL'); // the monitor only: the worker is left without it
    await until(() => !World.alive(worker), 10_000, 100);
    const orphaned = World.alive(worker);
    if (orphaned) process.kill(worker, 'SIGKILL'); // clean up before failing
    assert.equal(orphaned, false, 'the worker exits when its monitor is gone');
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, o.opened!.port), 'connected');
    await sleep(TTL * 1000 + 1500);
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, o.opened!.port), 'timeout');
    assert.equal(grantCount(), 0);
  });
});

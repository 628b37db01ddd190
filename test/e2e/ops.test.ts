/**
 * Operations end to end (issue 15), with the real daemon, client, nftables and pcap in network
 * namespaces: the metrics a scrape returns move by exactly what happened (one grant, one replay
 * rejected); the exporter runs unprivileged and the monitor listens on nothing; `tumblerd status`
 * reports the running daemon (and exit 3 once stopped); and a restore rolls the store back: with
 * --no-resync a device that knocked after the backup is locked out (its `tumbler open` gets no
 * answer, exit 5) until it is re-enrolled, while the default restore carries its state over so it
 * keeps working and a knock made after the backup still grants nothing again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CapturedSyn } from './tools/pcap-file.js';
import { parseExposition } from '../unit/server/metrics/fixtures.js';
import { until } from '../helpers/until.js';
import { CLIENT_ADDR, REPO, SERVER_ADDR, ATTACKER_ADDR, World } from './world.js';

const isRoot = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TTL = 5;
const METRICS_PORT = 9468;

type Series = Map<string, number>;

describe('operations end to end: metrics, status, backup and restore', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  let w: World;
  let alice: string;

  before(async () => {
    w = World.create('o');
    w.writeConfig({ ttl: TTL, grace: 10, window: 5, extra: `\n[metrics]\nlisten = "127.0.0.1:${METRICS_PORT}"\n` });
    alice = w.enroll('alice');
    await w.startDaemon();
  });
  after(() => w?.destroy());

  /** One scrape from inside the server's namespace (its own loopback). */
  const scrape = (): Series => {
    const r = w.inServer([process.execPath, '--import', 'tsx', join(REPO, 'test/e2e/tools/scrape.ts'), '127.0.0.1', String(METRICS_PORT)]);
    if (r.code !== 0) throw new Error(`scrape failed: ${r.stderr}`);
    const { status, body } = JSON.parse(r.stdout) as { status: number; body: string };
    assert.equal(status, 200);
    return parseExposition(body).series;
  };
  /** Scrapes until `ok` holds (both processes publish every second; generous for a loaded machine). */
  const scrapeUntil = async (ok: (s: Series) => boolean, what: string, deadlineMs = 30_000): Promise<Series> => {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      let s: Series | null = null;
      try {
        s = scrape();
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      if (s && ok(s)) return s;
      if (Date.now() > deadline) throw new Error(`metrics never showed ${what}`);
      await sleep(250);
    }
  };
  const v = (s: Series, k: string): number => s.get(k) ?? 0;
  const open = (extra: string[] = []) => w.client(['open', alice, '--json', ...extra]);
  const asPackets = (syns: CapturedSyn[]) => syns.slice(0, 3).map((x) => `${x.dstPort}:${x.isn}`).join(',');
  const status = (args: string[] = []) => w.admin(['status', '--pid-file', w.a.pidFile, ...args]);

  test('metrics move by exactly what happened: one grant, one replay rejected, then its expiry', async () => {
    // Warm up (the client learns its address with a probe), then let that grant run out.
    assert.equal(open().code, 0);
    const before = await scrapeUntil((s) => v(s, 'tumbler_worker_up') === 1 && v(s, 'tumbler_knocks_granted_total{mode="first"}') === 1 &&
      v(s, 'tumbler_grants_open{service="ssh"}') === 0 && v(s, 'tumbler_grants_expired_total{service="ssh"}') === 1, 'the warm-up grant, expired');
    const { result, syns } = await w.captureKnockSyns(w.ns.srv, () => open());
    assert.equal(result.code, 0, result.stderr);
    assert.ok(syns.length >= 3);
    assert.equal(w.sendSyns(w.ns.atk, ATTACKER_ADDR, SERVER_ADDR, ['--packets', asPackets(syns)]).code, 0);
    const granted = 'tumbler_knocks_granted_total{mode="first"}';
    const replay = 'tumbler_knocks_rejected_total{reason="REPLAY"}';
    const after = await scrapeUntil((s) => v(s, granted) > v(before, granted) && v(s, replay) > v(before, replay), 'the grant and the replay');
    const delta = (k: string) => v(after, k) - v(before, k);
    assert.equal(delta(granted), 1);
    assert.equal(delta('tumbler_grants_opened_total{service="ssh"}'), 1);
    assert.equal(delta(replay), 1);
    const otherRejections = [...after.keys()].filter((k) => k.startsWith('tumbler_knocks_rejected_total') && k !== replay).map((k) => [k, delta(k)]);
    assert.deepEqual(otherRejections.filter(([, d]) => d !== 0), [], 'no other rejection');
    assert.deepEqual([...after.keys()].filter((k) => k.startsWith('tumbler_grants_failed_total') && delta(k) !== 0), []);
    assert.equal(delta('tumbler_knock_to_grant_seconds_count'), 1);
    assert.equal(delta('tumbler_store_latency_seconds_count{op="accept"}'), 1);
    assert.equal(v(after, 'tumbler_up'), 1);
    assert.equal(v(after, 'tumbler_firewall_intact'), 1);
    assert.equal(v(after, 'tumbler_monitor_incidents_total{code="IPC_BAD_SHAPE"}'), 0);
    // The grant runs out in the kernel; the monitor's record says so.
    const expired = await scrapeUntil((s) => v(s, 'tumbler_grants_open{service="ssh"}') === 0 && v(s, 'tumbler_grants_expired_total{service="ssh"}') > v(before, 'tumbler_grants_expired_total{service="ssh"}'), 'the expiry');
    assert.equal(v(expired, 'tumbler_grants_expired_total{service="ssh"}') - v(before, 'tumbler_grants_expired_total{service="ssh"}'), 1);
  });

  test('the exporter runs as nobody with no capability; the root monitor listens on nothing', () => {
    const listening = w.inServer(['ss', '-Htlnp', `sport = :${METRICS_PORT}`]).stdout;
    const pid = Number(/pid=(\d+)/.exec(listening)?.[1]);
    assert.ok(pid > 0, listening);
    assert.notEqual(pid, w.daemon!.pid);
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.match(st, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    assert.match(st, /^CapEff:\s+0000000000000000$/m);
    assert.match(st, /^NoNewPrivs:\s+1$/m);
    const monitorSockets = w.inServer(['ss', '-Hlnp']).stdout.split('\n').filter((l) => /pid=(\d+)/.exec(l)?.[1] === String(w.daemon!.pid) && /LISTEN/.test(l));
    assert.deepEqual(monitorSockets, []);
  });

  test('tumblerd status: the running daemon, its worker, firewall, grants, knocks and store', async () => {
    const r = status(['--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as {
      worker: { pid: number; state: string; restarts: number }; firewall: { backend: string; intact: boolean };
      knocks: { lastMinute: { grants: number; rejections: number }; lastHour: { grants: number } }; store: { backend: string; healthy: boolean }; incidents: { total: number };
    };
    assert.equal(j.worker.pid, w.workerPid());
    assert.equal(j.worker.state, 'ok');
    assert.equal(j.worker.restarts, 0);
    assert.deepEqual(j.firewall, { ...j.firewall, backend: 'nftables', intact: true });
    assert.ok(j.knocks.lastHour.grants >= 2, JSON.stringify(j.knocks));
    assert.ok(j.knocks.lastHour.grants >= j.knocks.lastMinute.grants);
    assert.deepEqual([j.store.backend, j.store.healthy], ['sqlite', true]);
    assert.equal(j.incidents.total, 0);
    const text = status();
    assert.equal(text.code, 0);
    assert.match(text.stdout, /firewall: +nftables, table intact/);
    // A worker killed from outside is restarted; status follows it.
    const old = w.workerPid()!;
    process.kill(old, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    type Now = { worker: { pid: number; restarts: number; state: string } };
    let now: Now = { worker: { pid: old, restarts: 0, state: 'ok' } };
    while (Date.now() < deadline) {
      const s = status(['--json']);
      if (s.code === 0) now = JSON.parse(s.stdout) as Now;
      if (now.worker.restarts === 1 && now.worker.state === 'ok') break;
      await sleep(250);
    }
    assert.equal(now.worker.restarts, 1);
    assert.notEqual(now.worker.pid, old);
    await w.waitForLog('"worker.ready"', 30_000, w.daemonLog.lastIndexOf('"worker.started"'));
  });

  test('a monitor killed outright takes the exporter with it; the next daemon serves metrics again', async () => {
    const monitor = w.daemon!.pid!;
    const exporter = Number(/pid=(\d+)/.exec(w.inServer(['ss', '-Htlnp', `sport = :${METRICS_PORT}`]).stdout)?.[1]);
    assert.ok(exporter > 0);
    const children = World.descendants(monitor);
    assert.ok(children.includes(exporter));
    const exited = new Promise<void>((r) => w.daemon!.once('exit', () => r()));
    process.kill(monitor, 'SIGKILL');
    await exited;
    await until(() => !World.alive(exporter), 15_000, 100);
    assert.equal(World.alive(exporter), false, 'the exporter did not outlive the monitor');
    for (const pid of children) if (World.alive(pid)) process.kill(pid, 'SIGKILL'); // the rest of that daemon (worker, nft monitor)
    await w.startDaemon();
    await scrapeUntil((s) => v(s, 'tumbler_up') === 1 && v(s, 'tumbler_worker_up') === 1, 'the new daemon');
  });

  test('restore --no-resync: the device that knocked after the backup gets no answer (exit 5) until it is re-enrolled', async () => {
    const file = join(w.dir, 'before-knock.db');
    const b = w.admin(['backup', file]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(open().code, 0); // after the backup: alice now holds a sequence the backup never saw
    await w.stopDaemon();
    assert.equal(status().code, 3, 'not running');
    const r = w.admin(['restore', file, '--no-resync', '--pid-file', w.a.pidFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /LOCKED OUT/);
    assert.match(r.stdout, /tumblerd device reenroll alice laptop --out alice-laptop\.bundle/);
    await w.startDaemon();
    // What the device sees: silence, so `tumbler open` says no answer and exits 5.
    const locked = open(['--timeout', '300']);
    assert.equal(locked.code, 5, locked.stderr);
    assert.match(locked.stderr, /no answer/);
    // How it gets back in: the command the restore printed, a new bundle, enroll again.
    const bundle = join(w.dir, 'alice-laptop-reenrolled.bundle');
    const re = w.admin(['device', 'reenroll', 'alice', 'laptop', '--password-file', w.passwordFile, '--out', bundle]);
    assert.equal(re.code, 0, re.stderr);
    chmodSync(bundle, 0o644);
    const e = w.client(['enroll', bundle, '--name', alice, '--force', '--password-file', w.clientPasswordFile]);
    assert.equal(e.code, 0, e.stderr);
    const back = open();
    assert.equal(back.code, 0, back.stderr);
  });

  test('restore (resynchronising): the device keeps working, and a knock it made after the backup grants nothing again', async () => {
    const file = join(w.dir, 'before-knock-2.db');
    assert.equal(w.admin(['backup', file]).code, 0);
    const { result, syns } = await w.captureKnockSyns(w.ns.srv, () => open());
    assert.equal(result.code, 0, result.stderr);
    await w.stopDaemon();
    const r = w.admin(['restore', file, '--pid-file', w.a.pidFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 resynchronised/);
    assert.match(r.stdout, /alice\/laptop/);
    assert.doesNotMatch(r.stdout, /LOCKED OUT/);
    await w.startDaemon();
    // The knock made after the backup, sent again from the client's own address: carried over as
    // used, so it is a replay (or, within grace, a re-send of its stored reply), never a new grant.
    const before = await scrapeUntil((s) => v(s, 'tumbler_worker_up') === 1, 'the new worker');
    const answered = (s: Series) => v(s, 'tumbler_knocks_rejected_total{reason="REPLAY"}') + v(s, 'tumbler_replies_resent_total');
    assert.equal(w.sendSyns(w.ns.cli, CLIENT_ADDR, SERVER_ADDR, ['--packets', asPackets(syns)]).code, 0);
    const after = await scrapeUntil((s) => answered(s) > answered(before), 'the replayed knock');
    assert.equal(answered(after) - answered(before), 1);
    assert.equal(v(after, 'tumbler_knocks_granted_total{mode="first"}'), 0);
    assert.equal(v(after, 'tumbler_grants_opened_total{service="ssh"}'), 0);
    // And the device itself keeps working, with no re-enrollment.
    const ok = open();
    assert.equal(ok.code, 0, ok.stderr);
  });
});

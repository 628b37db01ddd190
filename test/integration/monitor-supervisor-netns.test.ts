/**
 * The privileged monitor against a compromised worker, as root, with the real nftables backend in a
 * network namespace. Malformed frames (truncated, oversize, bad JSON, unknown op — `list` included —,
 * extra field, an address that is not a literal), out-of-phase requests (open before the reconcile
 * is final, hello twice) and a flood of unanswered requests are incidents: counted, nothing reaches
 * the firewall, the worker is killed and restarted. Well-formed but refused requests (loopback or
 * unspecified source, port outside the range, unknown service, TTL too long) are answered with
 * their code and do NOT kill the worker (issue 12 §3); its good request after them reaches the
 * kernel. Every worker gets, on fd 4, exactly the config text the monitor was given. And the
 * worker's real MonitorClient against the real monitor: it keeps the phase order itself, its
 * reconcile spans frames, refusals reject one request each, concurrent opens are all served.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createFirewall, type FirewallBackend } from '../../server/monitor/firewall/backend.js';
import { Supervisor } from '../../server/monitor/supervisor.js';
import { createLogger } from '../../server/log.js';
import { inNs, isRoot, NetnsLab } from '../helpers/netns.js';
import { until } from '../helpers/until.js';
import { testConfig } from '../unit/server/monitor/firewall/fixtures.js';

const INCIDENTS: Record<string, string> = {
  truncated: 'IPC_TRUNCATED',
  oversize: 'IPC_OVERSIZE',
  bad_json: 'IPC_BAD_JSON',
  unknown_op: 'IPC_UNKNOWN_OP',
  list_op: 'IPC_UNKNOWN_OP',
  extra_field: 'IPC_BAD_SHAPE',
  address_syntax: 'MONITOR_ADDRESS_SYNTAX',
  open_before_reconcile: 'IPC_ORDER',
  hello_twice: 'IPC_ORDER',
  flood: 'IPC_FLOOD',
};
const REFUSED: Record<number, string> = {
  11: 'MONITOR_ADDRESS_REFUSED', 12: 'MONITOR_ADDRESS_REFUSED', 13: 'MONITOR_PORT_RANGE', 14: 'MONITOR_UNKNOWN_SERVICE', 15: 'MONITOR_TTL',
};
const CONFIG_TEXT = '# the config as the monitor read it: ünïcode and all\n[server]\n';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('monitor supervisor against a hostile worker (root, nftables in a namespace)', { skip: !isRoot && 'needs root' }, () => {
  let lab: NetnsLab;
  let fw: FirewallBackend;
  let dir: string;
  const events: Array<{ event: string; code?: string; worker?: number }> = [];

  before(async () => {
    lab = new NetnsLab('sup');
    const ns = lab.addNamespace('srv');
    fw = createFirewall(testConfig('nftables'), { table: 'tmbsup', commandPrefix: inNs(ns) });
    await fw.install();
    dir = mkdtempSync(join(tmpdir(), 'tumbler-sup-'));
  });
  after(async () => {
    await fw?.dispose().catch(() => {});
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('incidents kill and restart the worker; refusals are answered and the worker lives on', async () => {
    const state = join(dir, 'n');
    const answers = join(dir, 'answers');
    writeFileSync(state, '0');
    writeFileSync(answers, '');
    const kinds = Object.keys(INCIDENTS);
    const log = createLogger({ format: 'json', component: 'monitor', perSec: 1000, write: (l) => events.push(JSON.parse(l)) });
    const sup = new Supervisor({
      config: testConfig('nftables'), configText: CONFIG_TEXT, firewall: fw, log, backoffMs: [20],
      workerArgv: [process.execPath, join(import.meta.dirname, 'tools', 'hostile-worker.mjs'), state, answers, ...kinds],
    });
    sup.start();
    const lines = (): string[] => readFileSync(answers, 'utf8').trim().split('\n');
    const goodAnswered = (): boolean => lines().some((l) => l.startsWith('refused_then_good') && l.includes('"id":3,'));
    try {
      await until(goodAnswered, 60_000, 50);
      await sleep(300); // a kill, had it come, comes at once
      assert.equal(sup.workerPid !== undefined, true, 'the worker that only sent refused requests is still running');
    } finally {
      await sup.stop();
    }
    // Every hostile start ended in exactly the incident its frames deserve, in order.
    const incidents = events.filter((e) => e.event === 'monitor.incident').map((e) => e.code);
    assert.deepEqual(incidents, kinds.map((k) => INCIDENTS[k]));
    assert.equal(Object.values(sup.incidents).reduce((a, b) => a + b, 0), kinds.length);
    assert.equal(sup.starts, kinds.length + 1);
    assert.equal(sup.counters.workerRestarts, kinds.length);
    // Hostile workers got hello and reconcile answered, never their bad request.
    for (const l of lines().filter((x) => !x.startsWith('refused_then_good'))) {
      assert.match(l, /^\w+ \{"id":(1,"ok":true|2,"ok":true,"result":\{"removed":\d+\})\}$/, l);
    }
    // The last worker: each refused request answered with its code, then its good open.
    const last = lines().filter((l) => l.startsWith('refused_then_good ')).map((l) => JSON.parse(l.slice('refused_then_good '.length)) as { id: number; ok: boolean; code?: string });
    assert.deepEqual(last.filter((a) => a.id > 10).map((a) => [a.id, a.code]), Object.entries(REFUSED).map(([id, code]) => [Number(id), code]));
    assert.deepEqual(last.find((a) => a.id === 3), { id: 3, ok: true });
    assert.deepEqual(sup.counters.refusals, { MONITOR_ADDRESS_REFUSED: 2, MONITOR_PORT_RANGE: 1, MONITOR_UNKNOWN_SERVICE: 1, MONITOR_TTL: 1 });
    // Only the good request reached the kernel.
    assert.deepEqual((await fw.list()).map((g) => `${g.address}:${g.port}`), ['198.51.100.2:50100']);
    // The worker read the monitor's config text, byte for byte.
    assert.equal(readFileSync(`${answers}.config`, 'utf8'), CONFIG_TEXT);
  });

  test('the real MonitorClient: phases kept by the client, multi-frame reconcile, refusals per request, concurrent opens', async () => {
    await fw.reconcile([]);
    const out = join(dir, 'client-result');
    const log = createLogger({ format: 'json', component: 'monitor', perSec: 1000, write: () => undefined });
    const sup = new Supervisor({
      config: testConfig('nftables'), configText: CONFIG_TEXT, firewall: fw, log, backoffMs: [20],
      workerArgv: [process.execPath, '--import', 'tsx', join(import.meta.dirname, 'tools', 'client-worker.ts'), out],
    });
    sup.start();
    let result: Record<string, unknown> | null = null;
    try {
      const deadline = Date.now() + 30_000;
      while (!result && Date.now() < deadline) {
        try {
          result = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
        } catch {
          await sleep(50);
        }
      }
    } finally {
      await sup.stop();
    }
    assert.deepEqual(result, {
      openBeforeHello: 'IPC_ORDER', closeBeforeReconcile: 'IPC_ORDER', helloAgain: 'IPC_ORDER',
      open: 'OK', refused: 'MONITOR_PORT_RANGE', duplicate: 'MONITOR_DUPLICATE', concurrent: Array(20).fill('OK'), close: 'OK',
    });
    assert.deepEqual(sup.incidents, {});
    assert.equal(sup.starts, 1);
    assert.deepEqual(sup.counters.requests, { hello: 1, reconcile: 3, open: 23, close: 1 });
    assert.equal((await fw.list()).filter((g) => g.port >= 50010 && g.port < 50030).length, 20);
  });
});

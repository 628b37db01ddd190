/**
 * The privileged monitor against a compromised worker, as root, with the real nftables backend in a
 * network namespace: every malformed frame kind (truncated, oversize, bad JSON, unknown op, extra
 * field, bad address, port out of range, unknown service, TTL too long) is refused, counted as an
 * incident, reaches no firewall, and the worker is killed and restarted. A well-formed request from
 * the same harness is answered and reaches the kernel, so the harness speaks the real protocol.
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
import { testConfig } from '../unit/server/monitor/firewall/fixtures.js';

const KINDS: Record<string, string> = {
  truncated: 'IPC_TRUNCATED',
  oversize: 'IPC_OVERSIZE',
  bad_json: 'IPC_BAD_JSON',
  unknown_op: 'IPC_UNKNOWN_OP',
  extra_field: 'IPC_BAD_SHAPE',
  bad_address: 'MONITOR_BAD_ADDRESS',
  port_out_of_range: 'MONITOR_PORT_RANGE',
  unknown_service: 'MONITOR_UNKNOWN_SERVICE',
  ttl_too_long: 'MONITOR_TTL',
};
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

  test('each malformed frame kind: refused, counted, worker killed and restarted; then a good request is served', async () => {
    const state = join(dir, 'n');
    const answers = join(dir, 'answers');
    writeFileSync(state, '0');
    writeFileSync(answers, '');
    const kinds = Object.keys(KINDS);
    const log = createLogger({ format: 'json', component: 'monitor', perSec: 1000, write: (l) => events.push(JSON.parse(l)) });
    const sup = new Supervisor({
      config: testConfig('nftables'), firewall: fw, log, backoffMs: [20],
      workerArgv: [process.execPath, join(import.meta.dirname, 'tools', 'hostile-worker.mjs'), state, answers, ...kinds],
    });
    sup.start();
    try {
      const until = Date.now() + 30_000;
      while (!readFileSync(answers, 'utf8').includes('good') && Date.now() < until) await sleep(50);
    } finally {
      await sup.stop();
    }
    // Every hostile start ended in exactly the incident its frame deserves, in order.
    const incidents = events.filter((e) => e.event === 'monitor.incident').map((e) => e.code);
    assert.deepEqual(incidents, kinds.map((k) => KINDS[k]));
    for (const [k, code] of Object.entries(KINDS)) assert.equal(sup.incidents[code], 1, k);
    // One start per kind, then the good worker.
    assert.equal(sup.starts, kinds.length + 1);
    const exits = events.filter((e) => e.event === 'worker.exited');
    assert.ok(exits.length >= kinds.length);
    // The bad workers got no answer to their bad frame (hello answers only); the good one got its open.
    const lines = readFileSync(answers, 'utf8').trim().split('\n');
    for (const l of lines.filter((x) => !x.startsWith('good'))) assert.match(l, /^\w+ \{"id":1,"ok":true\}$/);
    assert.ok(lines.some((l) => l.startsWith('good') && l.includes('{"id":2,"ok":true}')), lines.join('\n'));
    // Only the good request reached the kernel.
    const grants = await fw.list();
    assert.deepEqual(grants.map((g) => `${g.address}:${g.port}`), ['198.51.100.2:50100']);
  });
});

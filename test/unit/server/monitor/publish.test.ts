/** What the monitor publishes (server/monitor/publish.ts): its counters and grants by service, in the exact shape readers check. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCounters, recordIncident } from '../../../../server/monitor/counters.js';
import { GrantBook } from '../../../../server/monitor/grant-book.js';
import { monitorState, MonitorPublisher } from '../../../../server/monitor/publish.js';
import { createLogger } from '../../../../server/log.js';
import { readStateFile } from '../../../../server/state/file.js';
import { LAST_INCIDENTS, monitorStateShape } from '../../../../server/state/monitor-state.js';
import { testConfig } from './firewall/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'tmb-mpub-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const T0 = 1_800_000_000_000;
const log = createLogger({ format: 'json', component: 'test', perSec: 1, write: () => {} });

test('counters, grants by service (open, opened, closed, expired; every configured service at 0 first) and the last incidents; no address in it', () => {
  const counters = createCounters(() => T0);
  const book = new GrantBook(100, counters.grants);
  const g = (i: number, service: string, ttlSec: number) => ({ family: 4 as const, address: `198.51.100.${i}`, port: 50000 + i, service, ttlSec });
  for (const x of [g(1, 'ssh', 30), g(2, 'ssh', 5), g(3, 'web', 30)]) {
    book.reserve(x, T0);
    book.confirm(x, T0);
  }
  book.remove(g(3, 'web', 30), T0 + 1000);
  counters.requests.open = 3;
  counters.workerStarts = 2;
  counters.workerRestarts = 1;
  for (let i = 0; i < LAST_INCIDENTS + 2; i++) recordIncident(counters, i % 2 ? 'IPC_BAD_SHAPE' : 'IPC_FLOOD', T0 + i);
  const o = { file: join(dir, 'm.json'), config: testConfig('nftables'), counters, book, workerPid: () => 777, log, pid: 4242 };
  const st = monitorState(o, T0 + 10_000); // g(2) has expired by then
  assert.deepEqual(monitorStateShape(st, ''), st, 'the shape readers check');
  assert.deepEqual(st.grants, { open: { ssh: 1, web: 0 }, opened: { ssh: 2, web: 1 }, closed: { ssh: 0, web: 1 }, expired: { ssh: 1, web: 0 } });
  assert.deepEqual(st.worker, { starts: 2, restarts: 1, pid: 777 });
  assert.deepEqual(st.incidents, { IPC_FLOOD: 6, IPC_BAD_SHAPE: 6 });
  assert.equal(st.lastIncidents.length, LAST_INCIDENTS);
  assert.deepEqual(st.lastIncidents.at(-1), { atMs: T0 + LAST_INCIDENTS + 1, code: 'IPC_BAD_SHAPE' });
  assert.equal(st.firewall.backend, 'nftables');
  assert.equal(st.firewall.intact, true);
  assert.doesNotMatch(JSON.stringify(st), /198\.51\.100/);
});

test('the publisher writes 0644 atomically and removes the file when it stops', () => {
  const counters = createCounters();
  const file = join(dir, 'tumblerd.monitor.json');
  const p = new MonitorPublisher({ file, config: testConfig('iptables'), counters, book: new GrantBook(10, counters.grants), workerPid: () => undefined, log });
  p.publish();
  assert.equal(statSync(file).mode & 0o777, 0o644);
  const st = readStateFile(file, monitorStateShape);
  assert.equal(st.pid, process.pid);
  assert.equal(st.worker.pid, undefined);
  assert.equal(st.firewall.backend, 'iptables');
  p.stop();
  assert.equal(existsSync(file), false);
});

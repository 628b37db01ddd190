/**
 * The metrics exporter as the monitor starts it (server/monitor/exporter.ts → server/metrics/main):
 * a separate process running as `nobody` with no capability and no_new_privs, on a Unix socket
 * (its directory made for it) or a loopback port; GET /metrics only; the published documents read
 * strictly (a worker document that is a link or not the worker's own is refused, and counted);
 * an address it cannot use ends it with status 2 and it is not restarted. Root (it changes uid).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findAccount } from '../../server/account.js';
import { createLogger } from '../../server/log.js';
import { ExporterProcess } from '../../server/monitor/exporter.js';
import { prepareWorkerStateDir } from '../../server/monitor/state-dir.js';
import { statePaths, writeStateFile } from '../../server/state/file.js';
import { scrape, scrapeWhenUp } from '../helpers/scrape.js';
import { until } from '../helpers/until.js';
import { monitorDoc, parseExposition, workerDoc } from '../unit/server/metrics/fixtures.js';

const isRoot = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('metrics exporter process', { skip: !isRoot && 'needs root (runs the exporter as nobody)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmb-exp-'));
  const paths = statePaths(join(dir, 'tumblerd.pid'));
  const worker = findAccount('tumbler')!;
  const nobody = findAccount('nobody')!;
  const log = createLogger({ format: 'json', component: 'test', perSec: 100, write: () => {} });
  const running: ExporterProcess[] = [];
  const start = (listen: ConstructorParameters<typeof ExporterProcess>[0]['metrics']['listen']): ExporterProcess => {
    const e = new ExporterProcess({ metrics: { listen, user: 'nobody' }, paths, workerUid: worker.uid, log, logFormat: 'json' });
    running.push(e);
    e.start();
    return e;
  };
  const publish = (o: { workerOwner?: number } = {}): void => {
    const now = Date.now();
    writeStateFile(paths.monitor, JSON.stringify(monitorDoc({ publishedAtMs: now })));
    writeStateFile(paths.worker, JSON.stringify(workerDoc({ publishedAtMs: now })));
    chownSync(paths.worker, o.workerOwner ?? worker.uid, worker.gid);
  };
  const socketPath = join(dir, 'metrics', 'metrics.sock');

  before(() => {
    chmodSync(dir, 0o755); // the exporter's account reads below it
    prepareWorkerStateDir(paths.workerDir, worker);
  });
  after(async () => {
    for (const e of running) await e.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('on a Unix socket: unprivileged, serves both documents, only GET /metrics', async () => {
    publish();
    const e = start({ kind: 'unix', path: socketPath });
    const r = await scrapeWhenUp({ socketPath });
    assert.equal(r.status, 200);
    assert.match(r.contentType, /^text\/plain; version=0\.0\.4/);
    const { series } = parseExposition(r.body);
    assert.equal(series.get('tumbler_up'), 1);
    assert.equal(series.get('tumbler_worker_up'), 1);
    assert.equal(series.get('tumbler_knocks_rejected_total{reason="REPLAY"}'), 1);
    // The process: nobody, no capability, no_new_privs; its socket directory and socket belong to it.
    const status = readFileSync(`/proc/${e.pid}/status`, 'utf8');
    const field = (k: string) => status.match(new RegExp(`^${k}:\\s*(.*)$`, 'm'))?.[1]?.trim().split(/\s+/) ?? [];
    assert.deepEqual(field('Uid').map(Number), [nobody.uid, nobody.uid, nobody.uid, nobody.uid]);
    assert.equal(field('CapEff')[0], '0000000000000000');
    assert.equal(field('CapPrm')[0], '0000000000000000');
    assert.deepEqual(field('NoNewPrivs'), ['1']);
    assert.ok(!field('Groups').includes('0'));
    assert.deepEqual([statSync(join(dir, 'metrics')).uid, statSync(join(dir, 'metrics')).mode & 0o777], [nobody.uid, 0o750]);
    assert.deepEqual([statSync(socketPath).uid, statSync(socketPath).mode & 0o777], [nobody.uid, 0o660]);
    assert.equal((await scrape({ socketPath }, { path: '/' })).status, 404);
    assert.equal((await scrape({ socketPath }, { method: 'POST' })).status, 405);
  });

  test('a worker document that is a link, or not owned by the worker account, is refused and counted', async () => {
    publish({ workerOwner: 0 });
    let s = parseExposition((await scrape({ socketPath })).body).series;
    assert.equal(s.get('tumbler_worker_up'), 0);
    assert.equal(s.get('tumbler_knocks_rejected_total{reason="REPLAY"}'), undefined);
    assert.ok((s.get('tumbler_state_read_errors_total{code="STATE_UNSAFE",document="worker"}') ?? 0) >= 1);
    unlinkSync(paths.worker);
    symlinkSync(paths.monitor, paths.worker);
    s = parseExposition((await scrape({ socketPath })).body).series;
    assert.equal(s.get('tumbler_worker_up'), 0);
    assert.ok((s.get('tumbler_state_read_errors_total{code="STATE_UNSAFE",document="worker"}') ?? 0) >= 2);
    unlinkSync(paths.worker);
    publish();
    assert.equal(parseExposition((await scrape({ socketPath })).body).series.get('tumbler_worker_up'), 1);
  });

  test('on a loopback port; a second exporter on the same port exits 2 and is not restarted', async () => {
    const port = await freeLoopbackPort();
    const first = start({ kind: 'tcp', host: '127.0.0.1', port });
    assert.equal((await scrapeWhenUp({ host: '127.0.0.1', port })).status, 200);
    const second = start({ kind: 'tcp', host: '127.0.0.1', port });
    await until(() => second.pid === undefined, 20_000, 100);
    assert.equal(second.pid, undefined, 'the second exporter ended');
    await sleep(2_500); // longer than the first restart delay
    assert.equal(second.pid, undefined, 'and was not restarted');
    assert.ok(first.pid);
    assert.equal((await scrape({ host: '127.0.0.1', port })).status, 200);
  });
});

/** A port on 127.0.0.1 free right now (the kernel picks it). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s: Server = createServer();
    s.on('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const addr = s.address();
      s.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

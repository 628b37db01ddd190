/**
 * `npm run bench:metrics` (root): what metrics and status cost, and whether they answer under a
 * flood, in the end-to-end topology (test/e2e/world.ts) with [metrics] on.
 *
 *  1. publishing: the worker's state document (counters, histograms, windows) built and written,
 *     and the monitor's, per second (µs each, one core);
 *  2. the exporter: one scrape (read both documents, build the registry, format), idle;
 *  3. a SYN flood at the knock range from the attacker namespace (bounded: bench/tools/flood.c),
 *     scraped every 250 ms from the server's namespace: scrape latency, scrapes that failed, and how
 *     old the worker's numbers got (the capture starves the worker's event loop; the exporter, a
 *     separate process, keeps answering).
 * Prints a markdown report (also bench/results/metrics.md) stating each target met or missed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCounters } from '../server/monitor/counters.js';
import { GrantBook } from '../server/monitor/grant-book.js';
import { monitorState } from '../server/monitor/publish.js';
import { buildRegistry } from '../server/metrics/registry.js';
import { createLogger } from '../server/log.js';
import { writeStateFile } from '../server/state/file.js';
import { KnockTimings } from '../server/worker/timings.js';
import { RecentTotals } from '../server/worker/recent.js';
import { testConfig } from '../test/unit/server/monitor/firewall/fixtures.js';
import { monitorDoc, workerDoc } from '../test/unit/server/metrics/fixtures.js';
import { ATTACKER_ADDR, KNOCK_RANGE, REPO, SERVER_ADDR, World } from '../test/e2e/world.js';
import { fmtStats, stats } from './lib/stats.js';

const PORT = 9468;
const FLOOD_SECONDS = 10;
const FLOOD_MAX_PACKETS = 5_000_000;
const out: string[] = [];
const say = (s = '') => { out.push(s); process.stdout.write(s + '\n'); };

/** Mean µs of `fn` over `n` runs (after a warm-up). */
async function micro(n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 50; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - t0) / n) * 1000;
}

async function publishingCost(dir: string): Promise<{ worker: number; monitor: number; scrape: number }> {
  // The worker's document as the publisher builds it: counters as after a busy day, real histograms, the windows.
  const timings = new KnockTimings();
  for (let i = 0; i < 10_000; i++) timings.observe('knock_to_grant', Math.random() * 0.02);
  const recent = new RecentTotals(Date.now() - 3_600_000);
  const counters: Record<string, number> = Object.fromEntries([
    'frames', 'filtered', 'not_knock', 'malformed', 'assembled', 'granted', 'granted_recovery', 'resent', 'probe.answered',
    ...['NO_SEQUENCE', 'REPLAY', 'KNOCK_MAC', 'KNOCK_STALE', 'MAC_RATE', 'IN_FLIGHT', 'WORKER_BUSY'].map((r) => `reject.${r}`),
  ].map((k, i) => [k, 1_000_000 * (i + 1)]));
  const file = join(dir, 'w.json');
  const worker = await micro(2_000, async () => {
    const now = Date.now();
    const totals = { knocks: counters.assembled!, grants: counters.granted!, rejections: 7 };
    recent.record(now, totals);
    const doc = { ...workerDoc({ counters, publishedAtMs: now }), histograms: await timings.snapshot(), recent: { minute: recent.window(now, totals, 60), hour: recent.window(now, totals, 3600) } };
    writeStateFile(file, JSON.stringify(doc));
  });
  const c = createCounters();
  const book = new GrantBook(65_536, c.grants);
  for (let i = 0; i < 1000; i++) {
    const g = { family: 4 as const, address: `198.51.${100 + (i >> 8)}.${i & 255}`, port: 50000 + i, service: i % 2 ? 'ssh' : 'web', ttlSec: 300 };
    book.reserve(g, Date.now());
    book.confirm(g, Date.now());
  }
  const log = createLogger({ format: 'json', component: 'bench', perSec: 1, write: () => {} });
  const monitor = await micro(2_000, () => writeStateFile(join(dir, 'm.json'), JSON.stringify(monitorState({ file: '', config: testConfig('nftables'), counters: c, book, workerPid: () => 1, log }, Date.now()))));
  const scrape = await micro(500, () => buildRegistry({ monitor: monitorDoc({ publishedAtMs: Date.now() }), worker: workerDoc({ counters, publishedAtMs: Date.now() }), nowMs: Date.now() }).metrics());
  return { worker, monitor, scrape };
}

interface Line { ok: boolean; ms: number; workerAge?: number; workerUp?: number; pcapReceived?: number; pcapDropped?: number }

function scrapeLoop(w: World, seconds: number): Promise<Line[]> {
  const c = w.spawnTracked('ip', ['netns', 'exec', w.ns.srv, process.execPath, '--import', 'tsx', join(REPO, 'bench/tools/scrape-loop.ts'), '127.0.0.1', String(PORT), String(seconds), '250'], { stdio: 'pipe' });
  let buf = '';
  c.stdout!.on('data', (b: Buffer) => { buf += b.toString(); });
  return new Promise((resolve) => c.once('exit', () => resolve(buf.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line))));
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:metrics needs root (network namespaces)');
  const tmp = mkdtempSync(join(tmpdir(), 'tmb-bench-metrics-'));
  const w = World.create('bm');
  try {
    say(`# Metrics and status: cost and behaviour under a flood\n\n${new Date().toISOString()}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}.`);
    const cost = await publishingCost(tmp);
    say('\n## Cost (one core, µs)\n');
    say('| what | µs | per |');
    say('|---|---:|---|');
    say(`| worker: build and write its state document | ${cost.worker.toFixed(0)} | second |`);
    say(`| monitor: build and write its state document (1,000 open grants) | ${cost.monitor.toFixed(0)} | second |`);
    say(`| exporter: one scrape (registry from both documents, formatted by prom-client) | ${cost.scrape.toFixed(0)} | scrape |`);

    w.writeConfig({ extra: `\n[metrics]\nlisten = "127.0.0.1:${PORT}"\n` });
    w.enroll('alice');
    await w.startDaemon();
    mkdirSync(join(tmp, 'bin'));
    const floodBin = join(tmp, 'bin', 'flood');
    if (spawnSync('cc', ['-O2', '-o', floodBin, join(REPO, 'bench/tools/flood.c')], { stdio: 'inherit' }).status !== 0) throw new Error('cc bench/tools/flood.c failed');
    await new Promise((r) => setTimeout(r, 2_000));
    const idle = await scrapeLoop(w, 5);
    const flood = w.spawnTracked('ip', ['netns', 'exec', w.ns.atk, floodBin, 'tcp', ATTACKER_ADDR, SERVER_ADDR, String(KNOCK_RANGE.first), String(KNOCK_RANGE.last),
      String(FLOOD_MAX_PACKETS), String(FLOOD_SECONDS), '0'], { stdio: 'pipe' });
    let sentText = '';
    flood.stdout!.on('data', (b: Buffer) => { sentText += b.toString(); });
    const during = await scrapeLoop(w, FLOOD_SECONDS);
    await new Promise((r) => (flood.exitCode !== null ? r(undefined) : flood.once('exit', r)));
    const after = await scrapeLoop(w, 4);
    const sent = /sent (\d+) ([\d.]+)/.exec(sentText);
    const okMs = (ls: Line[]) => ls.filter((l) => l.ok).map((l) => l.ms);
    const failed = (ls: Line[]) => ls.filter((l) => !l.ok).length;
    const maxAge = Math.max(0, ...during.map((l) => l.workerAge ?? 0), ...after.map((l) => l.workerAge ?? 0));
    const downShare = during.filter((l) => l.ok && l.workerUp === 0).length / Math.max(1, during.filter((l) => l.ok).length);
    const last = after.filter((l) => l.ok).at(-1);
    say(`\n## Under a SYN flood at the knock range (${sent ? `${Number(sent[1]).toLocaleString('en')} packets in ${Number(sent[2]).toFixed(1)} s` : 'flood'}, scraped every 250 ms from the server's namespace)\n`);
    say('| phase | scrape ms: median, p90, min–max | scrapes failed | worker state age max (s) |');
    say('|---|---|---:|---:|');
    say(`| idle (5 s) | ${fmtStats(stats(okMs(idle)))} | ${failed(idle)}/${idle.length} | ${Math.max(0, ...idle.map((l) => l.workerAge ?? 0)).toFixed(1)} |`);
    say(`| flood (${FLOOD_SECONDS} s) | ${fmtStats(stats(okMs(during)))} | ${failed(during)}/${during.length} | ${Math.max(0, ...during.map((l) => l.workerAge ?? 0)).toFixed(1)} |`);
    say(`| after (4 s) | ${fmtStats(stats(okMs(after)))} | ${failed(after)}/${after.length} | ${Math.max(0, ...after.map((l) => l.workerAge ?? 0)).toFixed(1)} |`);
    say(`\nScrapes that saw tumbler_worker_up = 0 during the flood: ${(downShare * 100).toFixed(0)} %. pcap after: received ${last?.pcapReceived ?? '?'}, dropped ${last?.pcapDropped ?? '?'}.`);
    const idleMed = stats(okMs(idle))?.median ?? 0;
    const floodP90 = stats(okMs(during))?.p90 ?? Infinity;
    const targets: Array<[string, string, boolean]> = [
      ['publishing costs the worker < 1 ms a second', `${(cost.worker / 1000).toFixed(2)} ms`, cost.worker < 1000],
      ['every scrape answers during the flood', `${failed(during)} failed`, failed(during) === 0],
      ['scrape p90 during the flood ≤ 100 ms', `${floodP90.toFixed(1)} ms (idle median ${idleMed.toFixed(1)})`, floodP90 <= 100],
      ['the worker\'s numbers are fresh again (≤ 5 s) after the flood', `${(last?.workerAge ?? Infinity).toFixed(1)} s`, (last?.workerAge ?? Infinity) <= 5],
    ];
    say('\n## Targets\n');
    say('| target | figure | met |');
    say('|---|---|---|');
    for (const [t, f, m] of targets) say(`| ${t} | ${f} | ${m ? 'met' : '**missed**'} |`);
    say(`\nThe worker's state aged at most ${maxAge.toFixed(1)} s: what \`tumblerd status\` and tumbler_worker_state_age_seconds report while a flood starves the worker.`);
    writeFileSync(join(REPO, 'bench/results/metrics.md'), out.join('\n') + '\n');
  } finally {
    w.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});

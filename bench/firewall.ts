/**
 * How fast a grant reaches the kernel (issue 4: "measure; no process spawned per grant if that costs
 * milliseconds"; issue 12's batching), as root in a network namespace made here: the nftables
 * backend's long-lived `nft -i` session and the iptables backend's long-lived `ipset -` session,
 * one grant at a time and in batches (openMany: one nft transaction / one ipset write per batch of
 * the size the monitor coalesces, MAX_BATCH), the monitor's whole request path (Dispatcher:
 * decode, validate, record, batch) for the same batches, and, for comparison, one
 * `nft add element` process per grant. Bounded in count. Prints a markdown table and writes
 * bench/results/firewall.md.
 *
 * Run: node --import tsx bench/firewall.ts
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { createCounters } from '../server/monitor/counters.js';
import { Dispatcher } from '../server/monitor/dispatch.js';
import { createFirewall } from '../server/monitor/firewall/backend.js';
import type { FirewallBackend, Grant } from '../server/monitor/firewall/types.js';
import { GrantBook } from '../server/monitor/grant-book.js';
import { MAX_BATCH } from '../server/monitor/supervisor.js';
import { inNs, NetnsLab } from '../test/helpers/netns.js';
import { testConfig } from '../test/unit/server/monitor/firewall/fixtures.js';
import { REPO } from '../test/e2e/world.js';

const N = 2000;
const N_SPAWN = 200;
/** Each figure is the best of this many runs: on a shared machine, the others measure the neighbours. */
const RUNS = 3;
const addr = (i: number) => `198.51.100.${(i % 250) + 1}`;
const grant = (i: number): Grant => ({ family: 4, address: addr(i), port: 50000 + Math.floor(i / 250), service: 'ssh', ttlSec: 60 });

type Kind = 'nftables' | 'iptables';

async function withBackend<T>(kind: Kind, ns: string, fn: (fw: FirewallBackend) => Promise<T>): Promise<T> {
  const fw = createFirewall(testConfig(kind), { table: kind === 'nftables' ? 'tmbbench' : 'tmbb', commandPrefix: inNs(ns) });
  await fw.install();
  try {
    await fw.reconcile([]);
    await fw.open({ family: 4, address: addr(0), port: 50999, service: 'ssh', ttlSec: 60 }); // warm the session
    return await fn(fw);
  } finally {
    await fw.reconcile([]);
    await fw.dispose();
  }
}

/** ms per grant, each open awaited before the next. */
function oneByOne(kind: Kind, ns: string): Promise<number> {
  return withBackend(kind, ns, async (fw) => {
    const t = performance.now();
    for (let i = 0; i < N; i++) await fw.open(grant(i));
    return (performance.now() - t) / N;
  });
}

/** ms per grant, MAX_BATCH grants per openMany call. */
function batched(kind: Kind, ns: string): Promise<number> {
  return withBackend(kind, ns, async (fw) => {
    const t = performance.now();
    for (let i = 0; i < N; i += MAX_BATCH) {
      const outcomes = await fw.openMany(Array.from({ length: Math.min(MAX_BATCH, N - i) }, (_, k) => grant(i + k)));
      if (outcomes.some((o) => o !== null)) throw new Error(`batch failed: ${outcomes.find((o) => o)?.code}`);
    }
    return (performance.now() - t) / N;
  });
}

/** ms per grant through the Dispatcher (decode, validate, record, one firewall call per batch). */
function dispatched(kind: Kind, ns: string): Promise<number> {
  return withBackend(kind, ns, async (fw) => {
    const d = new Dispatcher({ config: testConfig(kind), firewall: fw, book: new GrantBook(), counters: createCounters() });
    await d.handle({ op: 'hello', id: 1, pid: 1 });
    await d.handle({ op: 'reconcile', id: 2, keep: [], final: true });
    const frames = Array.from({ length: N }, (_, i) => {
      const g = grant(i);
      return { op: 'open', id: 10 + i, family: g.family, address: g.address, port: g.port, service: g.service, ttl: g.ttlSec };
    });
    const t = performance.now();
    for (let i = 0; i < N; i += MAX_BATCH) {
      const { answers, incident } = await d.handleMany(frames.slice(i, i + MAX_BATCH));
      if (incident || answers.some((a) => !a.ok)) throw new Error('dispatch failed');
    }
    return (performance.now() - t) / N;
  });
}

function spawnRate(ns: string): number {
  const must = (args: string[]) => spawnSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8' });
  must(['add table inet tmbspawn; add map inet tmbspawn g { type ipv4_addr . inet_service : ipv4_addr . inet_service; flags timeout; }']);
  const t = performance.now();
  for (let i = 0; i < N_SPAWN; i++) must(['add', 'element', 'inet', 'tmbspawn', 'g', `{ ${addr(i)} . ${50000 + i} timeout 60s : 192.0.2.1 . 22 }`]);
  return (performance.now() - t) / N_SPAWN;
}

const row = (path: string, n: number, ms: number): string => `| ${path} | ${n} | ${(ms * 1000).toFixed(0)} µs | ${Math.round(1000 / ms).toLocaleString('en')} |`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (network namespaces, nftables)');
  const lab = new NetnsLab('fwbench');
  const rows: string[] = [];
  const figures: Record<string, number> = {};
  try {
    const ns = lab.addNamespace('srv');
    const best = async (f: () => Promise<number> | number): Promise<number> => {
      let min = Infinity;
      for (let i = 0; i < RUNS; i++) min = Math.min(min, await f());
      return min;
    };
    figures.nft = await best(() => oneByOne('nftables', ns));
    figures.nftBatch = await best(() => batched('nftables', ns));
    figures.nftDispatch = await best(() => dispatched('nftables', ns));
    figures.ipt = await best(() => oneByOne('iptables', ns));
    figures.iptBatch = await best(() => batched('iptables', ns));
    figures.iptDispatch = await best(() => dispatched('iptables', ns));
    figures.spawned = await best(() => spawnRate(ns));
    rows.push(row('nftables backend, one grant at a time (one long-lived `nft -i`)', N, figures.nft));
    rows.push(row(`nftables backend, openMany: ${MAX_BATCH} grants per transaction`, N, figures.nftBatch));
    rows.push(row(`monitor Dispatcher → nftables, ${MAX_BATCH} open requests per batch`, N, figures.nftDispatch));
    rows.push(row('iptables backend, one grant at a time (one long-lived `ipset -`)', N, figures.ipt));
    rows.push(row(`iptables backend, openMany: ${MAX_BATCH} grants per write`, N, figures.iptBatch));
    rows.push(row(`monitor Dispatcher → iptables, ${MAX_BATCH} open requests per batch`, N, figures.iptDispatch));
    rows.push(row('one `nft add element` process per grant (not used)', N_SPAWN, figures.spawned));
  } finally {
    lab.cleanup();
  }
  const speedup = (a: number, b: number): string => `${(a / b).toFixed(1)}×`;
  const goal = 5;
  const out = [
    `# Grant → kernel, ${new Date().toISOString().slice(0, 10)}`, '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end.`
      + ` Each call awaited until the tool confirmed it; each figure the best of ${RUNS} runs.`, '',
    '| path | grants | per grant | grants/s |', '|---|---:|---:|---:|', ...rows, '',
    '| goal | figure | |', '|---|---:|---|',
    `| nftables (default): opens queued together, through the monitor, ≥ ${goal}× the one-at-a-time ceiling | ${speedup(figures.nft!, figures.nftDispatch!)} | ${figures.nft! / figures.nftDispatch! >= goal ? 'met' : 'missed'} |`,
    `| iptables: the same ratio (no goal: one ipset line is cheap already) | ${speedup(figures.ipt!, figures.iptDispatch!)} | — |`, '',
  ].join('\n');
  process.stdout.write(out);
  writeFileSync(join(REPO, 'bench/results/firewall.md'), out);
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });

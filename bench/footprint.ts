/**
 * tumblerd's memory (issue 13 §4): resident memory of the monitor, the worker and the long-lived
 * nft session, idle and after each of three 15 s floods of SYNs aimed at the knock range (the
 * worker inspects every one), in the end-to-end topology. Run as root: `npm run bench:footprint`.
 * Writes bench/results/footprint.md. Every flood is bounded in packets and seconds.
 * Options: --flood-seconds S (default 15), --floods N (default 3).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KNOCK_RANGE, REPO, World } from '../test/e2e/world.js';
import { buildFlooder, flood } from './lib/flood.js';
import { footprint, mib, type Footprint } from './lib/footprint.js';

const arg = (k: string, d: string): string => { const i = process.argv.indexOf(k); return i >= 0 ? process.argv[i + 1]! : d; };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FootprintRun { idle: Footprint; afterFloods: Array<Footprint & { sent: number; seconds: number }> }

/** Idle (after a few knocks of `profile`, if given), then `floods` floods of `seconds` each at the knock range, sampled after each. */
export async function measureFootprint(w: World, floodBin: string, profile: string | undefined, floods = 3, seconds = 15): Promise<FootprintRun> {
  if (profile) for (let i = 0; i < 3; i++) w.client(['open', profile, '--json']); // every path warmed once, as in use
  await sleep(3000);
  const pids = () => [w.daemon!.pid!];
  const idle = footprint(pids());
  const afterFloods = [];
  for (let i = 0; i < floods; i++) {
    const f = await flood(w, floodBin, 'tcp', KNOCK_RANGE.first, KNOCK_RANGE.last, seconds);
    await sleep(1000);
    afterFloods.push({ ...footprint(pids()), ...f });
  }
  return { idle, afterFloods };
}

export function footprintRows(r: FootprintRun): string[] {
  const growth = (f: Footprint) => `${(((f.rssKb - r.idle.rssKb) / r.idle.rssKb) * 100).toFixed(1)} %`;
  const per = (f: Footprint) => f.procs.map((p) => `${p.name} ${mib(p.rssKb)}`).join(', ');
  return [
    '| when | packets | RSS, summed | growth vs idle | held together (shared pages once) | per process (RSS) |',
    '|---|---:|---:|---:|---:|---|',
    `| idle | | ${mib(r.idle.rssKb)} | | ${mib(r.idle.togetherKb)} | ${per(r.idle)} |`,
    ...r.afterFloods.map((f, i) => `| after flood ${i + 1} | ${f.sent.toLocaleString('en')} in ${f.seconds.toFixed(1)} s | ${mib(f.rssKb)} | ${growth(f)} | ${mib(f.togetherKb)} | ${per(f)} |`),
  ];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (network namespaces, nftables, pcap)');
  const tmp = mkdtempSync(join(tmpdir(), 'tumbler-footprint-'));
  const w = World.create('fp');
  try {
    w.writeConfig({ ttl: 30 });
    const profile = w.enroll('alice');
    await w.startDaemon();
    const r = await measureFootprint(w, buildFlooder(tmp), profile, Number(arg('--floods', '3')), Number(arg('--flood-seconds', '15')));
    const lines = [`# tumblerd memory — ${new Date().toISOString().slice(0, 10)}`, '', ...footprintRows(r), ''];
    console.log(lines.join('\n'));
    writeFileSync(join(REPO, 'bench/results/footprint.md'), lines.join('\n'));
  } finally {
    await w.stopDaemon().catch(() => undefined);
    w.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('footprint.ts')) main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });

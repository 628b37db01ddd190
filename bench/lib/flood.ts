/**
 * The benchmarks' bounded flooder (bench/tools/flood.c): compiled once per run into a temp dir,
 * run as root inside the World's attacker namespace, stopped by its own packet and second limits.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ATTACKER_ADDR, REPO, SERVER_ADDR, type World } from '../../test/e2e/world.js';

/** Hard cap on packets per flood, whatever the rate. */
export const FLOOD_MAX_PACKETS = 6_000_000;

/** Compiles flood.c into `dir`; returns the binary's path. */
export function buildFlooder(dir: string): string {
  const bin = join(dir, 'flood');
  if (spawnSync('cc', ['-O2', '-o', bin, join(REPO, 'bench/tools/flood.c')], { stdio: 'inherit' }).status !== 0) throw new Error('cc bench/tools/flood.c failed');
  return bin;
}

/** One flood from the attacker to SERVER_ADDR ports first..last; resolves what flood.c reports. */
export function flood(w: World, bin: string, proto: 'tcp' | 'udp', first: number, last: number, seconds: number, rate = 0): Promise<{ sent: number; seconds: number }> {
  const c = w.spawnTracked('ip', ['netns', 'exec', w.ns.atk, bin, proto, ATTACKER_ADDR, SERVER_ADDR, String(first), String(last),
    String(FLOOD_MAX_PACKETS), String(seconds), String(rate)], { stdio: 'pipe' });
  let out = '';
  c.stdout!.on('data', (b: Buffer) => (out += b));
  return new Promise((resolve) => c.once('exit', () => {
    const m = /sent (\d+) ([\d.]+)/.exec(out);
    resolve({ sent: Number(m?.[1] ?? 0), seconds: Number(m?.[2] ?? 0) });
  }));
}

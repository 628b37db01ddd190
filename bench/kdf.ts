/**
 * Password KDF cost (docs/protocol.md, "Key derivation"): wall time and peak memory of one
 * derivation, scrypt (node:crypto, as shared/crypto uses it) at N = 2^14..2^16, r = 8, p = 1, against
 * PBKDF2-HMAC-SHA256 with 100,000 iterations in node-forge and in node:crypto. Every measurement
 * runs in its own child process, so its peak RSS (resourceUsage().maxRSS) is its own; the figure
 * reported is that peak minus the child's RSS just before the derivation.
 *
 * Run: node --import tsx bench/kdf.ts [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import { pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';
import { scryptKey } from '../shared/crypto/index.js';

type Kind = 'scrypt' | 'pbkdf2-forge' | 'pbkdf2-node';
interface Case { kind: Kind; label: string; N?: number; iterations?: number }
interface Sample { ms: number; peakMiB: number }

const PASSWORD = 'correct horse battery staple';
const PBKDF2_ITERATIONS = 100_000;
const CASES: Case[] = [
  { kind: 'scrypt', label: 'scrypt N=2^14 r=8 p=1 (node:crypto)', N: 1 << 14 },
  { kind: 'scrypt', label: 'scrypt N=2^15 r=8 p=1 (node:crypto) — v1 default', N: 1 << 15 },
  { kind: 'scrypt', label: 'scrypt N=2^16 r=8 p=1 (node:crypto)', N: 1 << 16 },
  { kind: 'pbkdf2-forge', label: 'PBKDF2-SHA256 100k (node-forge)', iterations: PBKDF2_ITERATIONS },
  { kind: 'pbkdf2-node', label: 'PBKDF2-SHA256 100k (node:crypto)', iterations: PBKDF2_ITERATIONS },
];

/** Child side: warm up without touching memory, then one derivation, measured. Prints JSON. */
async function child(c: Case): Promise<void> {
  const salt = randomBytes(16);
  // Warm-up: load the code paths with a negligible-memory run.
  scryptSync(PASSWORD, salt, 16, { N: 16, r: 1, p: 1 });
  forge.pkcs5.pbkdf2(PASSWORD, salt.toString('latin1'), 1, 16, forge.md.sha256.create());
  pbkdf2Sync(PASSWORD, salt, 1, 16, 'sha256');
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  let out: Buffer;
  if (c.kind === 'scrypt') out = await scryptKey(Buffer.from(PASSWORD, 'utf8'), salt, { N: c.N!, r: 8, p: 1 });
  else if (c.kind === 'pbkdf2-forge') {
    out = Buffer.from(forge.pkcs5.pbkdf2(PASSWORD, salt.toString('latin1'), c.iterations!, 16, forge.md.sha256.create()), 'latin1');
  } else out = pbkdf2Sync(PASSWORD, salt, c.iterations!, 16, 'sha256');
  const ms = performance.now() - t0;
  const maxRssBytes = process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB
  if (out.length !== 16) throw new Error('bad output length');
  const s: Sample = { ms, peakMiB: Math.max(0, maxRssBytes - rssBefore) / 2 ** 20 };
  process.stdout.write(JSON.stringify(s));
}

/** Parent side: one child per measurement, `runs` per case, bounded by a timeout each. */
function parent(runs: number): void {
  const self = fileURLToPath(import.meta.url);
  console.log(`Tumbler KDF bench: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, ${runs} runs per case, one child process per run\n`);
  console.log('| KDF | median ms | min ms | max ms | peak RSS added (MiB) | attacker memory per guess |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const c of CASES) {
    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', JSON.stringify(c)], {
        encoding: 'utf8', timeout: 120_000, cwd: process.cwd(),
      });
      if (r.status !== 0) throw new Error(`child failed for ${c.label}: ${r.stderr || r.error?.message || `status ${String(r.status)}`}`);
      samples.push(JSON.parse(r.stdout) as Sample);
    }
    const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
    const peak = Math.max(...samples.map((s) => s.peakMiB));
    const mem = c.kind === 'scrypt' ? `${(128 * c.N! * 8) / 2 ** 20} MiB` : '< 1 KiB';
    console.log(`| ${c.label} | ${ms[Math.floor(ms.length / 2)]!.toFixed(0)} | ${ms[0]!.toFixed(0)} | ${ms[ms.length - 1]!.toFixed(0)} | ${peak.toFixed(1)} | ${mem} |`);
  }
}

const at = process.argv.indexOf('--child');
if (at >= 0) {
  await child(JSON.parse(process.argv[at + 1]!) as Case);
} else {
  const i = process.argv.indexOf('--runs');
  const runs = i >= 0 ? Number(process.argv[i + 1]) : 3;
  parent(Number.isInteger(runs) && runs >= 1 && runs <= 20 ? runs : 3);
}

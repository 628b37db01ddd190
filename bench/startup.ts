/**
 * The client's start-up, issue 13 §1: what each way of packaging `tumbler` costs over Node's bare
 * start, measured side by side in one run (interleaved rounds, same environment for every row:
 * `env -i PATH HOME`), plus the durable write of the next sequence. No root, no network: `open`
 * rows ask a stand-in agent that answers at once (this process), so they show the CLI's own cost
 * on the agent path; `open` without an agent stops at the missing profile, after loading the whole
 * knock path. Writes bench/results/startup.md. `npm run bench:startup [-- --rounds N]`.
 *
 * Rows: the tsc output (ES modules, dist/client/cli.js); the bundle without and with its V8 code
 * cache (dist/client/bin: what users run); the bundle inside a V8 start-up snapshot (built here
 * with `node --build-snapshot`); and the cost of loading node-forge's index, its used modules, and
 * commander, each alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atomicWriteFile } from '../client/state/atomic.js';
import { encodeAnswer } from '../client/agent/protocol.js';
import { listenAgent } from '../client/agent/server.js';
import { peerCredentials } from '../shared/native/index.js';
import { REPO } from '../test/e2e/world.js';
import { stats } from './lib/stats.js';

const arg = (k: string, d: string): string => { const i = process.argv.indexOf(k); return i >= 0 ? process.argv[i + 1]! : d; };
const ROUNDS = Math.min(Math.max(Number(arg('--rounds', '30')), 3), 500);
const BIN = join(REPO, 'dist/client/bin');

interface Row { label: string; argv: string[]; samples: number[] }

/** Runs `argv` once; resolves the wall time to its exit in ms (async: the stand-in agent lives in this process). */
function timeOnce(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const c = spawn(argv[0]!, argv.slice(1), { env, stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', () => resolve(performance.now() - t));
  });
}

/** A copy of the bundle without its code cache, and a snapshot blob of it. */
function variants(dir: string): { noCache: string; blob: string | null } {
  const noCacheDir = join(dir, 'nocache');
  mkdirSync(noCacheDir);
  for (const f of ['tumbler.cjs', 'tumbler-main.js']) copyFileSync(join(BIN, f), join(noCacheDir, f));
  // Snapshot: the bundle's function compiled at build time, run at start-up.
  const entry = join(dir, 'snapshot-entry.cjs');
  writeFileSync(entry, `const v8 = require('node:v8'); const vm = require('node:vm');
const main = ${JSON.stringify(join(BIN, 'tumbler-main.js'))};
const fn = new vm.Script(require('node:fs').readFileSync(main, 'utf8'), { filename: main }).runInThisContext();
v8.startupSnapshot.setDeserializeMainFunction(() => { const m = { exports: {} }; fn(m.exports, require, m, main, ${JSON.stringify(BIN)}); });
`);
  const blob = join(dir, 'tumbler.blob');
  const r = spawnSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', entry], { encoding: 'utf8' });
  return { noCache: join(noCacheDir, 'tumbler.cjs'), blob: r.status === 0 ? blob : null };
}

/** Median ms of the durable write of a profile-sized file (write, fsync, rename, fsync dir) and of the same without the fsyncs. */
async function durableWrite(dir: string, n = 200): Promise<{ durable: number; plain: number }> {
  const data = readFileSync(join(REPO, 'package.json'), 'utf8').slice(0, 600); // a profile is ~600 bytes
  const durable: number[] = [];
  const plain: number[] = [];
  const { promises: fsp } = await import('node:fs');
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await atomicWriteFile(join(dir, 'p.json'), data);
    durable.push(performance.now() - t);
    t = performance.now();
    await fsp.writeFile(join(dir, '.q.tmp'), data, { mode: 0o600 });
    await fsp.rename(join(dir, '.q.tmp'), join(dir, 'q.json'));
    plain.push(performance.now() - t);
  }
  return { durable: stats(durable)!.median, plain: stats(plain)!.median };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tumbler-startup-'));
  const home = join(dir, 'home');
  mkdirSync(join(home, 'run'), { recursive: true, mode: 0o700 });
  const env = { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: join(home, 'run') };
  const agent = await listenAgent({
    socketPath: join(home, 'run', 'tumbler', 'agent.sock'), uid: process.getuid!(), peerUid: (s) => peerCredentials(s).uid,
    answer: async () => encodeAnswer('open', { server: '192.0.2.1', port: 50001, result: {
      profile: 'work', service: 'ssh', server: '192.0.2.1', port: 50001, expiresAt: 2_000_000_000, observedAddress: '192.0.2.2', clockOffsetMs: 0,
    } }),
  });
  try {
    const v = variants(dir);
    const node = process.execPath;
    const esm = join(REPO, 'dist/client/cli.js');
    const bundle = join(BIN, 'tumbler.cjs');
    const req = (m: string): string[] => [node, '-e', m.split(',').map((x) => `require(${JSON.stringify(join(REPO, 'node_modules', x))})`).join(';')];
    const rows: Row[] = [
      { label: 'node -e 0 (Node\'s bare start)', argv: [node, '-e', '0'], samples: [] },
      { label: '--version: tsc ES modules (dist/client/cli.js)', argv: [node, esm, '--version'], samples: [] },
      { label: '--version: bundle, no code cache', argv: [node, v.noCache, '--version'], samples: [] },
      { label: '--version: bundle + V8 code cache (shipped)', argv: [node, bundle, '--version'], samples: [] },
      ...(v.blob ? [{ label: '--version: bundle in a V8 start-up snapshot', argv: [node, '--snapshot-blob', v.blob, '--', '--version'], samples: [] }] : []),
      { label: 'open through an agent that answers at once: tsc ES modules', argv: [node, esm, 'open', 'work', '--json'], samples: [] },
      { label: 'open through an agent that answers at once: bundle + cache', argv: [node, bundle, 'open', 'work', '--json'], samples: [] },
      { label: 'open, no agent, up to reading the profile: tsc ES modules', argv: [node, esm, 'open', 'nosuch', '--no-agent'], samples: [] },
      { label: 'open, no agent, up to reading the profile: bundle + cache', argv: [node, bundle, 'open', 'nosuch', '--no-agent'], samples: [] },
      { label: 'require node-forge (its index)', argv: req('node-forge'), samples: [] },
      { label: 'require node-forge/lib/{aes,hmac,sha256} (what shared/crypto loads)', argv: req('node-forge/lib/aes,node-forge/lib/hmac,node-forge/lib/sha256'), samples: [] },
      { label: 'require commander', argv: req('commander'), samples: [] },
    ];
    for (const r of rows) await timeOnce(r.argv, env); // warm the page cache
    for (let i = 0; i < ROUNDS; i++) for (const r of rows) r.samples.push(await timeOnce(r.argv, env));
    const base = stats(rows[0]!.samples)!.median;
    const w = await durableWrite(join(home));
    const lines = [
      `# tumbler start-up — ${new Date().toISOString().slice(0, 10)}`, '',
      `node ${process.version}; ${ROUNDS} interleaved rounds; every command under \`env -i PATH HOME\`; median (p90) wall time to exit.`, '',
      '| what | median ms | p90 ms | × node -e 0 |', '|---|---:|---:|---:|',
      ...rows.map((r) => { const s = stats(r.samples)!; return `| ${r.label} | ${s.median.toFixed(1)} | ${s.p90.toFixed(1)} | ${(s.median / base).toFixed(2)} |`; }),
      '',
      `Durable write of the next sequence (profile-sized file: write, fsync, rename, fsync of the directory — kept before success, protocol §10): ${w.durable.toFixed(2)} ms median; `
        + `the same without the two fsyncs: ${w.plain.toFixed(2)} ms (median of 200, on the filesystem of $HOME here).`,
      '',
    ];
    console.log(lines.join('\n'));
    writeFileSync(join(REPO, 'bench/results/startup.md'), lines.join('\n'));
  } finally {
    agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });

/**
 * atomicWriteFile: the file is always the old or the new content, even when the writer is
 * SIGKILLed at random moments; new files are 0600; temp files of dead writers are swept.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { atomicWriteFile, sweepStaleTemps } from '../../../../client/state/atomic.js';

const ATOMIC_TS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'client', 'state', 'atomic.ts');
const dir = mkdtempSync(join(tmpdir(), 'tmb-atomic-'));
const WRITER = join(dir, 'writer.mjs');
after(() => rmSync(dir, { recursive: true, force: true }));

// Each version is self-checking: counter, padding of varying length, SHA-256 of both.
function documentFor(n: number): string {
  const pad = String(n % 10).repeat(48 * 1024 + (n % 977));
  return JSON.stringify({ n, pad, sum: createHash('sha256').update(`${n}:${pad}`).digest('hex') });
}
function checkDocument(text: string): number {
  const o = JSON.parse(text) as { n: number; pad: string; sum: string };
  if (createHash('sha256').update(`${o.n}:${o.pad}`).digest('hex') !== o.sum) throw new Error('torn document');
  return o.n;
}

// The SIGKILL children must start fast, so they run plain JS: atomic.ts (node builtins only)
// transpiled once, and a writer loop that rewrites the file until killed.
before(() => {
  const js = ts.transpileModule(readFileSync(ATOMIC_TS, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  writeFileSync(join(dir, 'atomic.mjs'), js);
  writeFileSync(WRITER, [
    "import { createHash } from 'node:crypto';",
    "import { atomicWriteFile } from './atomic.mjs';",
    'function documentFor(n) {',
    "  const pad = String(n % 10).repeat(48 * 1024 + (n % 977));",
    "  return JSON.stringify({ n, pad, sum: createHash('sha256').update(`${n}:${pad}`).digest('hex') });",
    '}',
    'const path = process.argv[2]; let n = Number(process.argv[3]);',
    "process.stdout.write('ready\\n');",
    'for (;;) await atomicWriteFile(path, documentFor(n++));',
  ].join('\n'));
});

/** Starts a writer, waits for "ready", sleeps `delayMs`, SIGKILLs it by PID and waits for its exit. */
function killWriterAfter(path: string, first: number, delayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, path, String(first)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let killed = false;
    child.stdout.on('data', () => {
      if (killed) return;
      killed = true;
      setTimeout(() => process.kill(child.pid!, 'SIGKILL'), delayMs);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}`))));
  });
}

describe('atomicWriteFile', () => {
  it('creates the file mode 0600 with the given content and leaves no temp file', async () => {
    const p = join(dir, 'plain.json');
    await atomicWriteFile(p, 'hello');
    await atomicWriteFile(p, Buffer.from('world'));
    assert.equal(readFileSync(p, 'utf8'), 'world');
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('plain')), ['plain.json']);
  });

  it('survives SIGKILL at random moments: always the old or a newer whole version, never torn or missing', async () => {
    const lanes = 5;
    const rounds = 12; // 60 kills in all
    let advanced = 0;
    await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
      const path = join(dir, `lane${lane}.json`);
      let last = lane * 1_000_000;
      writeFileSync(path, documentFor(last), { mode: 0o600 });
      for (let r = 0; r < rounds; r++) {
        await killWriterAfter(path, last + 1, Math.floor(Math.random() * 30));
        const n = checkDocument(readFileSync(path, 'utf8')); // throws if missing or torn
        assert.ok(n >= last, `lane ${lane} went back from ${last} to ${n}`);
        if (n > last) advanced++;
        last = n;
      }
    }));
    // The kills did land while writes were going on.
    assert.ok(advanced > 0);
  });

  it('sweeps temp files left by dead writers, keeps live ones', async () => {
    const sub = mkdtempSync(join(dir, 'sweep-'));
    const dead = join(sub, '.x.json.999999999.0123456789ab.tmp');
    const live = join(sub, `.x.json.${process.pid}.0123456789ab.tmp`);
    writeFileSync(dead, 'a');
    writeFileSync(live, 'b');
    assert.equal(await sweepStaleTemps(sub), 1);
    assert.deepEqual(readdirSync(sub), [live.split('/').pop()]);
  });
});

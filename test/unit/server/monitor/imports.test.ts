/**
 * The privileged monitor stays small: what `tumblerd run` loads before and while it supervises the
 * worker (server/main.ts, the admin command table, the config parser, server/monitor/*) imports
 * nothing that parses packets, runs the protocol, or touches SQLite, PostgreSQL, pcap or raw sockets;
 * and it serves nothing: no HTTP server, no metrics library (the exporter is a separate process).
 * Static imports are followed transitively; the admin commands' own heavy imports happen inside
 * their actions (dynamic import) and are not loaded by `run`. The worker, for its part, loads no
 * metrics library (prom-client is the exporter's): its walk follows dynamic imports too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
// What `tumblerd run` loads: main.ts statically, the admin table by top-level await, then the action's imports.
const ROOTS = ['server/main.ts', 'server/admin/index.ts', 'server/config/parse.ts', 'server/monitor/run.ts'];
const FORBIDDEN = [/^shared\/packet\//, /^shared\/protocol\//, /^shared\/crypto\//, /^server\/store\//, /^server\/worker\//, /^better-sqlite3$/, /^pg$/, /^pg-/, /^pcap$/, /^raw-socket$/, /^node-forge(\/|$)/,
  /^prom-client$/, /^(node:)?https?$/, /^(node:)?http2$/, /^server\/metrics\//];
// Named sizes only, no code: the config checks its ranges against the protocol's own numbers.
const ALLOWED = new Set(['shared/protocol/constants.ts', 'shared/packet/constants.ts']);
const STATIC_IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm;
const DYNAMIC_IMPORT = /\bimport\('([^']+)'\)/g;

function closure(roots = ROOTS, dynamic = false): Map<string, string> {
  const seen = new Map<string, string>(); // module → who imported it
  const queue: Array<[string, string]> = roots.map((r) => [r, '(root)']);
  for (const [r] of queue) seen.set(r, '(root)');
  while (queue.length) {
    const [file] = queue.shift()!;
    const src = readFileSync(join(REPO, file), 'utf8');
    for (const m of [...src.matchAll(STATIC_IMPORT), ...(dynamic ? src.matchAll(DYNAMIC_IMPORT) : [])]) {
      if (/^\s*(?:import|export)\s+type\s/.test(m[0])) continue; // erased at compile time
      const spec = m[1]!;
      const target = spec.startsWith('.') ? relative(REPO, resolve(dirname(join(REPO, file)), spec)).replace(/\.js$/, '.ts') : spec;
      if (seen.has(target)) continue;
      seen.set(target, file);
      if (spec.startsWith('.')) queue.push([target, file]);
    }
  }
  return seen;
}

test('tumblerd run (the privileged monitor) loads no packet parser, protocol, crypto, store, worker, HTTP or metrics code', () => {
  const loaded = closure();
  assert.ok(loaded.has('server/monitor/supervisor.ts') && loaded.has('server/monitor/firewall/backend.ts'), 'the walk follows imports');
  assert.ok(loaded.has('server/monitor/exporter.ts') && loaded.has('server/monitor/publish.ts'), 'the walk reaches the exporter\'s spawner and the publisher');
  const bad = [...loaded].filter(([m]) => !ALLOWED.has(m) && FORBIDDEN.some((re) => re.test(m))).map(([m, by]) => `${m} (imported by ${by})`);
  assert.deepEqual(bad, []);
});

test('the worker loads no metrics library: its histograms are plain counts (prom-client is the exporter\'s)', () => {
  const loaded = closure(['server/worker/main.ts'], true);
  assert.ok(loaded.has('server/worker/timings.ts') && loaded.has('server/store/postgres/store.ts') && loaded.has('pg'), 'the walk follows static and dynamic imports');
  assert.equal(loaded.get('prom-client'), undefined);
});

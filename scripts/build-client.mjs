#!/usr/bin/env node
/**
 * Builds the `tumbler` client as users run it, in dist/client/bin/:
 *  - tumbler-main.js: client/cli.ts and everything it may import (node-forge's used modules and
 *    all) bundled by esbuild into one CommonJS function body. One file starts faster than the ~60
 *    ES modules tsc emits (no module graph to resolve and link); commands still load lazily, as
 *    esbuild leaves each dynamically imported module unevaluated until it runs.
 *  - tumbler-main.cache: V8's code cache for it, made here after dry runs of the start-up paths,
 *    so a start deserializes compiled code instead of compiling the bundle and its hot functions.
 *  - tumbler.cjs: the executable (package.json "bin"): loads tumbler-main.js through vm.Script
 *    with that cache. A missing or rejected cache (another Node binary) only costs the compile.
 *  - bundled-modules.json: the npm modules esbuild put inside the bundle (their node_modules
 *    paths), from its metafile: the Debian build ships their licence texts (scripts/package/).
 * bench/startup.ts measures these choices side by side (and a V8 start-up snapshot, which did not
 * pay for itself and was dropped).
 *
 * `import.meta.url` (used to find the C helper and the native addon next to the sources) becomes
 * the bundle's own file URL, computed on first use (the URL machinery costs milliseconds at start);
 * the bundle sits three levels below the checkout like the modules tsc emits (dist/client/x/), so
 * their "../../../" candidates still reach client/helper and shared/native. raw-socket (a native
 * module) stays external, loaded from node_modules when used.
 *
 *   node scripts/build-client.mjs [--out DIR]   (default DIR: dist/client/bin; the Debian build
 *   writes into its staging tree, scripts/package/project.ts, and installs DIR as dist/client/bin)
 */
import { build } from 'esbuild';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outAt = process.argv.indexOf('--out');
const BIN = outAt > 0 && process.argv[outAt + 1] ? resolve(process.argv[outAt + 1]) : join(root, 'dist/client/bin');
const MAIN = join(BIN, 'tumbler-main.js');
const CACHE = join(BIN, 'tumbler-main.cache');
const LAUNCHER = join(BIN, 'tumbler.cjs');

// 1. The bundle, as the body of a CommonJS module function.
const { metafile } = await build({
  absWorkingDir: root,
  entryPoints: ['client/cli.ts'],
  outfile: MAIN,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['raw-socket'],
  banner: { js: "const __bundle_meta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };" },
  define: { 'import.meta.url': '__bundle_meta.url' },
  legalComments: 'none',
  minify: true, // half the bytes to read and check against the cache: ~3 ms off every start (bench/startup.ts)
  logLevel: 'warning',
  metafile: true,
});
// As package-lock.json keys ("node_modules/a/node_modules/b"), wherever node_modules really lives.
const modules = new Set(Object.keys(metafile.inputs)
  .map((f) => /(node_modules\/(?:.*\/node_modules\/)?(?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter(Boolean));
writeFileSync(join(BIN, 'bundled-modules.json'), `${JSON.stringify([...modules].sort(), null, 2)}\n`);
const body = readFileSync(MAIN, 'utf8').replace(/^#!.*\n/, '');
// The same wrapper text at build and at run time: V8 matches a cache to its exact source.
const source = `(function (exports, require, module, __filename, __dirname) {${body}\n})`;
writeFileSync(MAIN, source);

// 2. The launcher.
writeFileSync(LAUNCHER, `#!/usr/bin/env node
'use strict';
// tumbler: runs tumbler-main.js (the bundled client) with its V8 code cache (scripts/build-client.mjs).
const { readFileSync } = require('node:fs');
const { Script } = require('node:vm');
const main = __dirname + '/tumbler-main.js';
let cachedData;
try { cachedData = readFileSync(__dirname + '/tumbler-main.cache'); } catch { /* compile instead */ }
new Script(readFileSync(main, 'utf8'), { filename: main, cachedData }).runInThisContext()(exports, require, module, main, __dirname);
`);
chmodSync(LAUNCHER, 0o755);

// 3. The code cache, after dry runs that compile the paths a start takes: argv parsing and help,
//    and `open` through the agent then without it (no agent socket, no profile: both fail at once,
//    after loading the agent client, the open flow, the protocol and node-forge's modules).
const script = new vm.Script(source, { filename: MAIN });
const scratch = mkdtempSync(join(tmpdir(), 'tumbler-build-'));
const saved = { argv: process.argv, env: process.env, out: process.stdout.write, err: process.stderr.write };
const requireFromMain = createRequire(MAIN);
try {
  process.env = { PATH: saved.env.PATH, HOME: scratch, XDG_CONFIG_HOME: scratch, TUMBLER_AGENT_SOCK: join(scratch, 'no-agent.sock') };
  process.stdout.write = () => true;
  process.stderr.write = () => true;
  for (const args of [['--help'], ['open', '--help'], ['open', 'warm-up', '--json'], ['proxy', 'warm-up', 'ssh'], ['status', 'warm-up']]) {
    process.argv = [process.execPath, MAIN, ...args];
    process.exitCode = undefined;
    const m = { exports: {} };
    script.runInThisContext()(m.exports, requireFromMain, m, MAIN, BIN);
    for (let i = 0; i < 200 && process.exitCode === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  }
} finally {
  Object.assign(process, { argv: saved.argv, env: saved.env, exitCode: 0 });
  process.stdout.write = saved.out;
  process.stderr.write = saved.err;
  rmSync(scratch, { recursive: true, force: true });
}
writeFileSync(CACHE, script.createCachedData());
console.log(`built ${join(BIN, 'tumbler.cjs')} (+ tumbler-main.js, tumbler-main.cache)`);

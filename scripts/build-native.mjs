#!/usr/bin/env node
/**
 * Compiles Tumbler's pieces of C with the machine's compiler, no downloads:
 *  - the client's raw-socket helper (client/helper/tumbler-helper.c → client/helper/tumbler-helper);
 *  - the ssh connector (client/connector/tumbler-connect.c → client/connector/tumbler-connect, not setuid);
 *  - the tumbler_native Node-API addon (shared/native/tumbler_native.c → shared/native/tumbler_native.node),
 *    against the Node headers in $npm_config_nodedir/include/node (default /usr).
 * Without a compiler it prints a warning and exits 0, so `npm ci` still succeeds (the client then
 * reports HELPER_MISSING and the daemon NATIVE_MISSING). CC=... overrides the compiler; flags are fixed.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cc = process.env.CC || 'cc';
const hardening = ['-O2', '-Wall', '-Wextra', '-Werror', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2'];
const nodeInclude = join(process.env.npm_config_nodedir || '/usr', 'include', 'node');

const targets = [
  { src: ['client/helper/tumbler-helper.c', 'client/helper/host-syn.c', 'client/helper/reply-filter.c'],
    out: 'client/helper/tumbler-helper', flags: ['-pie', '-fPIE'] },
  { src: ['client/connector/tumbler-connect.c'], out: 'client/connector/tumbler-connect', flags: ['-pie', '-fPIE'] },
  { src: ['shared/native/tumbler_native.c'], out: 'shared/native/tumbler_native.node',
    flags: ['-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=tumbler_native', `-I${nodeInclude}`] },
];

const probe = spawnSync(cc, ['--version'], { stdio: 'ignore' });
if (probe.error || probe.status !== 0) {
  console.warn(`warning: no C compiler (${cc}) found; the helper, the ssh connector and the native addon were not built.`);
  console.warn('warning: install one (e.g. apt-get install gcc) and run: node scripts/build-native.mjs');
  process.exit(0);
}
if (!existsSync(join(nodeInclude, 'node_api.h'))) {
  console.error(`error: Node's headers are not in ${nodeInclude} (set npm_config_nodedir to Node's prefix)`);
  process.exit(1);
}
for (const t of targets) {
  const r = spawnSync(cc, [...hardening, ...t.flags, '-o', join(root, t.out), ...t.src.map((s) => join(root, s))], { stdio: 'inherit' });
  if (r.error || r.status !== 0) {
    console.error(`error: compiling ${t.src.join(' ')} failed`);
    process.exit(1);
  }
  console.log(`built ${t.out}`);
}

#!/usr/bin/env node
/**
 * Compiles the client's raw-socket helper (client/helper/tumbler-helper.c) with the machine's C
 * compiler into client/helper/tumbler-helper. No downloads. Without a compiler it prints a warning
 * and exits 0, so `npm ci` / `npm run build` still succeed (the client then reports HELPER_MISSING).
 * Override the compiler with CC=...; the hardening flags are fixed.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'client', 'helper', 'tumbler-helper.c');
const out = join(root, 'client', 'helper', 'tumbler-helper');
const cc = process.env.CC || 'cc';
const flags = ['-O2', '-Wall', '-Wextra', '-Werror', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2', '-pie', '-fPIE'];

const probe = spawnSync(cc, ['--version'], { stdio: 'ignore' });
if (probe.error || probe.status !== 0) {
  console.warn(`warning: no C compiler (${cc}) found; client/helper/tumbler-helper was not built.`);
  console.warn('warning: install one (e.g. apt-get install gcc) and run: node scripts/build-helper.mjs');
  process.exit(0);
}
const r = spawnSync(cc, [...flags, '-o', out, src], { stdio: 'inherit' });
if (r.error || r.status !== 0) {
  console.error(`error: compiling ${src} failed`);
  process.exit(1);
}
console.log(`built ${out}`);

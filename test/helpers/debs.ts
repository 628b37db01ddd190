/**
 * Helpers for the package tests: build the .deb files with the real `npm run package` script into
 * a directory of the test's own, and read them back with dpkg-deb (fields, the data listing with
 * modes and owners, the control members, unpacking).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_PACKAGE, SERVER_PACKAGE } from '../../scripts/package/layout.js';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface Built {
  readonly server: string;
  readonly client: string;
}

function must(cmd: string, args: readonly string[], opts: { cwd?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').trim().slice(-2000)}`);
  return r.stdout;
}

/** Runs scripts/package/build.ts --out DIR (a fresh compile: about 20 s on an idle machine). */
export function buildDebs(outDir: string): Built {
  must(process.execPath, ['--import', 'tsx', join(REPO, 'scripts/package/build.ts'), '--out', outDir], { cwd: REPO, timeoutMs: 600_000 });
  const files = readdirSync(outDir);
  const find = (pkg: string): string => {
    const f = files.find((x) => x.startsWith(`${pkg}_`) && x.endsWith('.deb'));
    if (!f) throw new Error(`no ${pkg} .deb in ${outDir}: ${files.join(', ')}`);
    return join(outDir, f);
  };
  return { server: find(SERVER_PACKAGE), client: find(CLIENT_PACKAGE) };
}

export function debField(deb: string, field: string): string {
  return must('dpkg-deb', ['--field', deb, field]).trim();
}

export interface ArchiveEntry {
  readonly mode: string; // "-rwxr-xr-x", "drwxr-xr-x", "lrwxrwxrwx", ...
  readonly owner: string; // "root/root"
  readonly path: string; // "/usr/bin/tumbler", "/usr/lib/" (directories end with "/")
}

function parseTarListing(text: string): ArchiveEntry[] {
  return text.split('\n').filter(Boolean).map((l) => {
    const m = /^(\S+)\s+(\S+)\s+\d+\s+\S+\s+\S+\s+(.*)$/.exec(l);
    if (!m) throw new Error(`unexpected tar listing line: ${l}`);
    return { mode: m[1]!, owner: m[2]!, path: m[3]!.replace(/^\.\//, '/').replace(/ -> .*$/, '') };
  });
}

/** The data archive: `dpkg-deb --contents`. */
export function debContents(deb: string): ArchiveEntry[] {
  return parseTarListing(must('dpkg-deb', ['--contents', deb]));
}

/** The control archive's listing (control, md5sums, maintainer scripts). */
export function debControlListing(deb: string): ArchiveEntry[] {
  const tar = spawnSync('dpkg-deb', ['--ctrl-tarfile', deb], { maxBuffer: 64 << 20 });
  if (tar.status !== 0) throw new Error(`dpkg-deb --ctrl-tarfile ${deb} failed`);
  const r = spawnSync('tar', ['-tvf', '-'], { input: tar.stdout, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar -tv failed: ${r.stderr}`);
  return parseTarListing(r.stdout).filter((e) => e.path !== '/');
}

/** `dpkg-deb --extract` (data) and `--control` (DEBIAN/ members) into dir and dir/DEBIAN. */
export function unpack(deb: string, dir: string): void {
  must('dpkg-deb', ['--extract', deb, dir]);
  mkdirSync(join(dir, 'DEBIAN'), { recursive: true });
  must('dpkg-deb', ['--control', deb, join(dir, 'DEBIAN', debField(deb, 'Package'))]);
}

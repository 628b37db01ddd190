/**
 * The Debian tools the package build runs, without a shell: dpkg (architecture), strip (as
 * dh_strip does), dpkg-shlibdeps (Depends of the ELF files), dpkg-deb (the .deb). A missing tool or a failure is a
 * PACKAGE_TOOL error naming the Debian package that provides the tool.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TumblerError } from '../../shared/errors.js';

const PROVIDER: Readonly<Record<string, string>> = { dpkg: 'dpkg', 'dpkg-deb': 'dpkg', 'dpkg-shlibdeps': 'dpkg-dev', strip: 'binutils' };
const TIMEOUT_MS = 300_000;

export function runTool(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: TIMEOUT_MS, cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 << 20 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new TumblerError('PACKAGE_TOOL', `${cmd} not found${PROVIDER[cmd] ? ` (apt-get install ${PROVIDER[cmd]})` : ''}`);
  }
  if (r.error || r.status !== 0) {
    const why = (r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').slice(-5).join('\n');
    throw new TumblerError('PACKAGE_TOOL', `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${why}`);
  }
  return r.stdout;
}

/** This machine's Debian architecture (amd64, arm64, ...). */
export function debianArchitecture(): string {
  return runTool('dpkg', ['--print-architecture']).trim();
}

/** Strips debugging symbols as dh_strip does: programs keep their symbol table, shared objects (addons) only what linking needs. */
export function stripElf(file: string, program: boolean): void {
  runTool('strip', ['--remove-section=.comment', '--remove-section=.note', ...(program ? [] : ['--strip-unneeded']), file]);
}

/**
 * The shared-library dependencies of `elfFiles` (paths relative to `workDir`), as dpkg-shlibdeps
 * computes them. It wants a debian/control naming the package, and the files under
 * debian/<pkg>/. Symbols it cannot place are Node's own (the addons resolve them from the node
 * binary), so that warning is off.
 */
export function sharedLibraryDepends(workDir: string, packages: readonly string[], elfFiles: readonly string[]): string[] {
  if (elfFiles.length === 0) return [];
  mkdirSync(join(workDir, 'debian'), { recursive: true });
  writeFileSync(join(workDir, 'debian', 'control'),
    `Source: tumbler\n\n${packages.map((p) => `Package: ${p}\nArchitecture: any\n`).join('\n')}`);
  const out = runTool('dpkg-shlibdeps', ['-O', '--warnings=0', ...elfFiles.map((f) => `-e${f}`)], { cwd: workDir });
  const m = /^shlibs:Depends=(.*)$/m.exec(out);
  return m && m[1]!.trim() ? m[1]!.split(',').map((d) => d.trim()) : [];
}

/** dpkg-deb --build with every file owned by root:root; mtimes clamped to SOURCE_DATE_EPOCH. */
export function buildDeb(tree: string, outFile: string, sourceDateEpoch: string): void {
  runTool('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', tree, outFile], { env: { ...process.env, SOURCE_DATE_EPOCH: sourceDateEpoch } });
}

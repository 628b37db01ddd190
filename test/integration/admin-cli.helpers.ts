/**
 * Helpers for the admin CLI integration tests: a temp config (RFC 5737 addresses, database in a
 * temp dir, worker user `tmbtest` created when missing) and `tumblerd` run as a subprocess.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminConfigToml } from '../unit/server/admin/config.fixture.js';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const WORKER = 'tmbtest';

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Make sure the worker account exists; returns its uid and gid. */
export function ensureWorkerUser(): { uid: number; gid: number } {
  if (spawnSync('id', [WORKER]).status !== 0) {
    const r = spawnSync('useradd', ['--system', '--no-create-home', WORKER], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`useradd ${WORKER} failed: ${r.stderr}`);
  }
  const f = spawnSync('getent', ['passwd', WORKER], { encoding: 'utf8' }).stdout.trim().split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export interface TestWorld {
  readonly dir: string;
  readonly config: string;
  readonly database: string;
}

/** A temp dir (traversable by the worker user) with tumblerd.toml; the database dir does not exist yet. */
export function makeWorld(prefix: string, interfaces = ['lo']): TestWorld {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  const database = join(dir, 'state', 'tumbler.db');
  const config = join(dir, 'tumblerd.toml');
  writeFileSync(config, adminConfigToml({ interfaces, user: WORKER, database, grantPorts: '50000-50999' }), { mode: 0o644 });
  return { dir, config, database };
}

/** Run `tumblerd --config CONFIG ...args` (optionally inside a network namespace). */
export function tumblerd(world: TestWorld, args: readonly string[], o: { input?: string; netns?: string } = {}): CliResult {
  const node = [process.execPath, '--import', 'tsx', join(REPO, 'server/main.ts'), '--config', world.config, ...args];
  const [cmd, ...argv] = o.netns ? ['ip', 'netns', 'exec', o.netns, ...node] : node;
  const r = spawnSync(cmd!, argv, { cwd: REPO, encoding: 'utf8', input: o.input ?? '', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The "(CODE)" at the end of a "tumblerd: message (CODE)" (or tumbler's) error line. */
export function errorCode(r: { readonly stderr: string }): string | undefined {
  return /\(([A-Z0-9_]+)\)\s*$/.exec(r.stderr)?.[1];
}

/** Like tumblerd(), without blocking: for independent commands run side by side. */
export function tumblerdAsync(world: TestWorld, args: readonly string[]): Promise<CliResult> {
  const argv = ['--import', 'tsx', join(REPO, 'server/main.ts'), '--config', world.config, ...args];
  return new Promise((resolvePromise) => {
    execFile(process.execPath, argv, { cwd: REPO, encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolvePromise({ status, stdout, stderr });
    });
  });
}

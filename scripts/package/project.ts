/**
 * What the build reads from the project and the machine: package.json (version, licence, module
 * type, dependencies), the Node the packages will run (its major is their ABI), the Debian
 * architecture, a reproducible timestamp (SOURCE_DATE_EPOCH, else the last commit's), and the
 * fresh compile: tsc into the staging directory, the C programs (helper, ssh connector) and the
 * native addon, and the client's esbuild bundle with its V8 code cache.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { TumblerError } from '../../shared/errors.js';
import { debianVersion } from './control.js';
import * as L from './layout.js';
import type { ProjectInfo } from './spec.js';
import { debianArchitecture, runTool } from './tools.js';

export function projectInfo(repo: string): ProjectInfo {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string; license?: string; type?: string; dependencies?: Record<string, string> };
  if (!existsSync(L.NODE)) throw new TumblerError('PACKAGE_NODE', `the packages run ${L.NODE} (Debian's nodejs package); it is not installed here`);
  const nodeVersion = runTool(L.NODE, ['--version']).trim();
  const nodeMajor = Number(/^v(\d+)\./.exec(nodeVersion)?.[1]);
  if (!Number.isInteger(nodeMajor)) throw new TumblerError('PACKAGE_NODE', `cannot read the major version of ${L.NODE} (${nodeVersion})`);
  const git = (args: string[]): string => {
    const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : '';
  };
  return {
    version: debianVersion(pkg.version),
    semver: pkg.version,
    license: pkg.license ?? 'UNLICENSED',
    type: pkg.type ?? 'commonjs',
    dependencies: Object.keys(pkg.dependencies ?? {}),
    arch: debianArchitecture(),
    nodeMajor,
    sourceDateEpoch: process.env.SOURCE_DATE_EPOCH ?? (git(['log', '-1', '--format=%ct']) || String(Math.floor(Date.now() / 1000))),
    revision: git(['describe', '--always', '--dirty']) || 'unknown',
  };
}

/**
 * tsc into <work>/tsc (never the checkout's possibly stale dist/), then scripts/build-native.mjs,
 * then the client bundle into <work>/tsc/client/bin (installed as dist/client/bin), its code cache
 * made by the Node the packages run (V8 rejects a cache from another Node, which only costs the compile).
 */
export function compile(repo: string, work: string): string {
  const out = join(work, 'tsc');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  runTool(process.execPath, [tsc, '-p', join(repo, 'tsconfig.json'), '--outDir', out]);
  runTool(process.execPath, [join(repo, 'scripts/build-native.mjs')], { cwd: repo });
  runTool(L.NODE, [join(repo, 'scripts/build-client.mjs'), '--out', join(out, 'client/bin')], { cwd: repo });
  return out;
}

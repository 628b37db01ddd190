/**
 * Checks on a staged package before dpkg-deb builds it:
 *  - every import in its compiled JavaScript resolves inside the package: a relative import names
 *    a file that ships, a bare one is a Node built-in or a module that ships;
 *  - every shipped npm module loads from the package's own node_modules, and every native addon
 *    loads (right Node ABI, shared libraries present), in a Node started inside the package root;
 *  - a bundled command starts from the package (`--version`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { TumblerError } from '../../shared/errors.js';
import { walkTree } from './control.js';

/** Static and dynamic imports, require(), and createRequire(...)('x'), with a literal specifier. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|\)\s*\(\s*)(['"])([^'"\n]+)\1/g;

/** The package name of a bare specifier ("pg/lib/x" → "pg", "@s/n/x" → "@s/n"). */
export function moduleName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Every import literal in a JavaScript text. */
export function importsOf(js: string): string[] {
  return [...js.matchAll(IMPORT)].map((m) => m[2]!);
}

/**
 * Problems with the imports of the .js files under `root`/`codeDir` (relative paths, "/"-separated):
 * relative imports that name no file in the tree, bare imports of modules not in `modules`.
 */
export function importProblems(root: string, codeDir: string, modules: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const base = join(root, codeDir);
  if (!existsSync(base)) return [`${codeDir}: missing`];
  for (const e of walkTree(base)) {
    if (e.kind !== 'file' || !e.path.endsWith('.js')) continue;
    const file = join(base, e.path);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const where = `${codeDir}/${e.path}`;
      if (spec.startsWith('./') || spec.startsWith('../')) {
        const target = resolve(dirname(file), spec);
        if (relative(root, target).startsWith('..')) problems.push(`${where}: imports ${spec}, outside the package`);
        else if (!existsSync(target)) problems.push(`${where}: imports ${spec}, which the package does not ship`);
      } else if (!isBuiltin(spec) && !modules.has(moduleName(spec))) {
        problems.push(`${where}: imports ${spec}, a module the package does not ship (add it to its modules list)`);
      }
    }
  }
  return problems;
}

const LOAD_CHECK = `
const { createRequire } = await import('node:module');
const { fileURLToPath } = await import('node:url');
const [root, modules, addons] = [process.argv[1], JSON.parse(process.argv[2]), JSON.parse(process.argv[3])];
for (const name of modules) {
  const file = fileURLToPath(import.meta.resolve(name));
  if (!file.startsWith(root + '/node_modules/')) throw new Error(name + ' resolves outside the package: ' + file);
  await import(name);
}
const require = createRequire(root + '/package.json');
for (const addon of addons) require(root + '/' + addon);
`;

/** Loads `modules` (by name) and `addons` (paths under root) with `node`, cwd = root. Throws PACKAGE_LOAD. */
export function checkModulesLoad(node: string, root: string, modules: readonly string[], addons: readonly string[]): void {
  const r = spawnSync(node, ['--input-type=module', '-e', LOAD_CHECK, root, JSON.stringify(modules), JSON.stringify(addons)],
    { cwd: root, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  if (r.status !== 0) {
    const why = (r.stderr || String(r.error ?? '')).trim().split('\n').find((l) => /Error|error:/.test(l)) ?? r.stderr.trim().split('\n')[0];
    throw new TumblerError('PACKAGE_LOAD', `in ${root}: a shipped module does not load: ${why}`);
  }
}

/** Runs `node root/entry --version` with nothing but PATH; throws PACKAGE_LOAD unless it exits 0. */
export function checkStarts(node: string, root: string, entry: string): void {
  const r = spawnSync(node, [join(root, entry), '--version'], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  if (r.status !== 0) {
    throw new TumblerError('PACKAGE_LOAD', `in ${root}: ${entry} --version failed (${r.status ?? r.signal}): ${(r.stderr || String(r.error ?? '')).trim().split('\n')[0]}`);
  }
}

/**
 * One package's tree (debian/<name>/ in the staging directory, the future "/" of the package),
 * filled from its description: compiled JS, checkout files, the npm run-time closure pruned to
 * what Node loads, command wrappers, system files, man pages, docs, copyright and changelog;
 * ELF files stripped, every mode set. Then checked: imports resolve inside it, modules load.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TumblerError } from '../../shared/errors.js';
import { walkTree } from './control.js';
import { copyrightFile, LICENSE_FILE, type InlinedModules } from './copyright.js';
import * as L from './layout.js';
import { shipsModuleFile } from './module-files.js';
import { nameOf, runtimeClosure, type Lockfile } from './npm-closure.js';
import type { BuildRules, PackageSpec, ProjectInfo, Staged } from './spec.js';
import { copyFileInto, copyTreeInto, gzipInto, inTree, isElf, setModes, writeFileInto } from './stage.js';
import { fillTemplate } from './template.js';
import { stripElf } from './tools.js';
import { checkModulesLoad, checkStarts, importProblems } from './verify.js';

/** What a compile produces that ships: tsc's modules, and the client bundle (its CommonJS launcher and V8 code cache). */
const COMPILED_FILE = /\.(js|cjs|cache)$/;

export interface TreeInputs {
  readonly repo: string;
  readonly work: string;
  /** tsc's output directory (its server/, client/, shared/ become dist/...). */
  readonly compiled: string;
  readonly lock: Lockfile;
  readonly project: ProjectInfo;
  readonly rules: BuildRules;
}

/** Fills debian/<name>/ with everything but DEBIAN/. */
export function stagePackage(spec: PackageSpec, inp: TreeInputs): Staged {
  const { repo, work, compiled, lock, project: p, rules } = inp;
  const tree = join(work, 'debian', spec.name);
  const root = spec.root;
  // 1. The program: compiled JS, checkout files, a package.json that makes dist/ ES modules.
  for (const c of spec.compiled) {
    if (!c.startsWith('dist/')) throw new TumblerError('PACKAGE_LISTS', `${spec.name}: compiled entries start with dist/ (${c})`);
    copyTreeInto(join(compiled, c.slice('dist/'.length)), tree, `${root}/${c}`, (r) => COMPILED_FILE.test(r));
  }
  for (const f of spec.files) {
    const src = join(repo, f);
    if (existsSync(src) && statSync(src).isDirectory()) copyTreeInto(src, tree, `${root}/${f}`);
    else copyFileInto(src, tree, `${root}/${f}`);
  }
  writeFileInto(tree, `${root}/package.json`, `${JSON.stringify({ name: spec.name, version: p.semver, private: true, type: p.type, license: p.license }, null, 2)}\n`);

  // 2. npm modules: the run-time closure, pruned to what Node loads.
  const modules = runtimeClosure(lock, spec.modules, rules.buildOnly).filter((m) => !(m.optional && !existsSync(join(repo, m.path))));
  for (const m of modules) {
    const dir = join(repo, m.path);
    const native = existsSync(join(dir, 'binding.gyp'));
    const binaries = rules.nativeBinaries[m.name] ?? [];
    if (native && binaries.length === 0) {
      throw new TumblerError('PACKAGE_LISTS', `${m.name} is a native module: name its compiled addon(s) in NATIVE_BINARIES (scripts/package/build.ts)`);
    }
    for (const b of binaries) if (!existsSync(join(dir, b))) throw new TumblerError('PACKAGE_SOURCE_MISSING', `${m.path}/${b} is not built (npm ci builds it)`);
    copyTreeInto(dir, tree, `${root}/${m.path}`, (r) => shipsModuleFile(r, native, binaries));
  }

  // 3. Commands, system files, man pages, docs, owned directories.
  const template = readFileSync(join(repo, 'packaging/command.sh.in'), 'utf8');
  for (const [command, entry] of Object.entries(spec.commands)) {
    const values = { COMMAND: command, PACKAGE: spec.name, NODE: L.NODE, ENTRY: posix.relative(L.BIN_DIR, `${root}/${entry}`) };
    writeFileInto(tree, `${L.BIN_DIR}/${command}`, fillTemplate(template, values, `${command} wrapper`));
  }
  for (const [installPath, src] of Object.entries(spec.system)) copyFileInto(join(repo, src), tree, installPath);
  for (const page of spec.man) {
    const section = /\.([1-9])$/.exec(page)?.[1];
    if (!section) throw new TumblerError('PACKAGE_LISTS', `${page}: a man page ends with its section (.1 ... .9)`);
    gzipInto(join(repo, page), tree, `/usr/share/man/man${section}/${basename(page)}.gz`);
  }
  const doc = L.docDir(spec.name);
  for (const d of spec.docs) gzipInto(join(repo, d), tree, `${doc}/${basename(d)}.gz`);
  writeFileInto(tree, `${doc}/changelog.gz`, changelog(p, rules.maintainer)); // a native package's changelog name
  const inlined = (spec.bundles ?? []).map((b) => inlinedModules(b, { ...inp, root, doc, tree }));
  writeFileInto(tree, `${doc}/copyright`, copyrightFile(p.license, modules.map((m) => ({
    installPath: `${root.slice(1)}/${m.path}`, sourceDir: join(repo, m.path), name: m.name, version: m.version,
  })), inlined));
  for (const d of spec.dirs) mkdirSync(inTree(tree, d), { recursive: true });

  // 4. Modes: everything 0644/0755; the wrappers, the scripts they run and the listed programs
  // executable. ELF files stripped (addons as shared objects, programs as executables).
  const programs = new Set([
    ...Object.keys(spec.commands).map((c) => `${L.BIN_DIR}/${c}`),
    ...Object.values(spec.commands).map((entry) => `${root}/${entry}`),
    ...spec.executables.map((x) => `${root}/${x}`),
  ]);
  for (const e of walkTree(tree)) {
    if (e.kind === 'file' && isElf(join(tree, e.path))) stripElf(join(tree, e.path), programs.has(`/${e.path}`));
  }
  setModes(tree, programs);
  return { tree, modules };
}

/** The list scripts/build-client.mjs writes next to a bundle: the npm modules compiled into it (lockfile keys). */
const BUNDLED_MODULES_FILE = 'bundled-modules.json';

/**
 * The npm modules compiled into bundle `b` (a compiled entry), with their licence texts copied to
 * <doc>/licenses/<name>/: the bundle keeps no comments, so this is where they ship.
 */
function inlinedModules(b: string, x: TreeInputs & { root: string; doc: string; tree: string }): InlinedModules {
  const listFile = join(x.compiled, b.slice('dist/'.length), BUNDLED_MODULES_FILE);
  if (!existsSync(listFile)) throw new TumblerError('PACKAGE_SOURCE_MISSING', `${b}: ${BUNDLED_MODULES_FILE} is missing (scripts/build-client.mjs writes it)`);
  const keys = JSON.parse(readFileSync(listFile, 'utf8')) as string[];
  const licenceDir = `${x.doc.slice(1)}/licenses`;
  const modules = keys.map((key) => {
    const entry = x.lock.packages[key];
    if (!entry) throw new TumblerError('PACKAGE_MODULE_MISSING', `${b} bundles ${key}, which is not in package-lock.json`);
    const m = { sourceDir: join(x.repo, key), name: nameOf(key), version: entry.version ?? '0.0.0' };
    for (const f of readdirSync(m.sourceDir).filter((n) => LICENSE_FILE.test(n))) copyFileInto(join(m.sourceDir, f), x.tree, `/${licenceDir}/${m.name}/${f}`);
    return m;
  });
  return { installPath: `${x.root.slice(1)}/${b}`, licenceDir, modules };
}

function changelog(p: ProjectInfo, maintainer: string): Buffer {
  const date = new Date(Number(p.sourceDateEpoch) * 1000).toUTCString().replace('GMT', '+0000');
  const text = `tumbler (${p.version}) unstable; urgency=medium\n\n  * Built from the Tumbler source tree, revision ${p.revision}.\n\n -- ${maintainer}  ${date}\n`;
  return gzipSync(Buffer.from(text), { level: 9 });
}

/** The import and load checks on a staged tree. */
export function verifyPackage(spec: PackageSpec, s: Staged, rules: BuildRules): void {
  const root = inTree(s.tree, spec.root);
  const shipped = new Set(s.modules.map((m) => m.name));
  const bundles = spec.bundles ?? [];
  const problems = spec.compiled.filter((c) => !bundles.includes(c)).flatMap((c) => importProblems(root, c, shipped));
  if (problems.length) throw new TumblerError('PACKAGE_IMPORTS', `${spec.name}:\n  ${problems.join('\n  ')}`);
  const addons = [
    ...s.modules.flatMap((m) => (rules.nativeBinaries[m.name] ?? []).map((b) => `${m.path}/${b}`)),
    ...spec.files.filter((f) => f.endsWith('.node')),
  ];
  checkModulesLoad(L.NODE, root, spec.modules, addons);
  for (const entry of Object.values(spec.commands)) {
    if (bundles.some((b) => entry.startsWith(`${b}/`))) checkStarts(L.NODE, root, entry);
  }
}

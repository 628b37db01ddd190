/**
 * `npm run package`: the Debian packages tumbler-server and tumbler-client, built with dpkg-deb
 * from a fresh compile of this checkout (never from a possibly stale dist/).
 *
 *   node --import tsx scripts/package/build.ts [--out DIR] [--keep]
 *     --out DIR   where the .deb files go (default: dist-deb/ in the checkout)
 *     --keep      keep the staging directory and print where it is
 *
 * What each package ships is the two lists below: adding a file, a module or a man page is one
 * line. Steps: the lists against package.json → tsc into the staging directory, the C helper and
 * the native addon (scripts/build-native.mjs) → each package's tree → every import resolves and
 * every module loads inside it → DEBIAN/ (control with dpkg-shlibdeps' Depends, md5sums, the
 * maintainer scripts from packaging/<package>/) → dpkg-deb --root-owner-group.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { TumblerError, isTumblerError } from '../../shared/errors.js';
import { debianVersion, installedSize, md5sums, renderControl, walkTree } from './control.js';
import { copyrightFile } from './copyright.js';
import * as L from './layout.js';
import { shipsModuleFile } from './module-files.js';
import { runtimeClosure, type Lockfile, type ModuleEntry } from './npm-closure.js';
import { copyFileInto, copyTreeInto, gzipInto, inTree, isElf, setModes, writeFileInto } from './stage.js';
import { fillTemplate } from './template.js';
import { buildDeb, debianArchitecture, runTool, sharedLibraryDepends, stripElf } from './tools.js';
import { checkModulesLoad, importProblems } from './verify.js';

export interface PackageSpec {
  readonly name: string;
  /** Install root of the program; mirrors the checkout's layout (scripts/package/layout.ts). */
  readonly root: string;
  readonly summary: string;
  /** Long description, one string per line ("" separates paragraphs). */
  readonly body: readonly string[];
  /** Compiled JavaScript (from the fresh tsc output), installed at the same path under root. */
  readonly compiled: readonly string[];
  /** Checkout files or folders, installed at the same relative path under root. */
  readonly files: readonly string[];
  /** Of those, the programs (mode 0755). */
  readonly executables: readonly string[];
  /** npm modules loaded at run time; their own dependencies follow from package-lock.json. */
  readonly modules: readonly string[];
  /** Commands in /usr/bin: name → entry script under root (a small sh wrapper runs it with NODE). */
  readonly commands: Readonly<Record<string, string>>;
  /** Other checkout files, by absolute install path. */
  readonly system: Readonly<Record<string, string>>;
  /** man(7) sources; the section is the last extension. */
  readonly man: readonly string[];
  /** Installed gzipped in /usr/share/doc/<name>/. */
  readonly docs: readonly string[];
  /** Empty directories the package owns. */
  readonly dirs: readonly string[];
  /** Besides Node and the shared libraries (those are computed). */
  readonly depends: readonly string[];
  readonly recommends: readonly string[];
  readonly suggests: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// What each package ships.

export const SERVER: PackageSpec = {
  name: L.SERVER_PACKAGE,
  root: L.SERVER_ROOT,
  summary: 'port-knocking daemon: services behind closed ports, opened by one-time knocks',
  body: [
    'tumblerd hides services (ssh, a database console) behind silent, closed ports',
    'and opens them for one source address, for a limited time, when that address',
    'sends a valid one-time knock: three TCP SYNs carrying a server-issued sequence',
    'and an encrypted, authenticated, timestamped declaration. A privileged monitor',
    'owns the nftables (or iptables) rules; an unprivileged worker captures with',
    'libpcap, verifies and answers.',
    '',
    'This package holds tumblerd, its admin commands, the systemd unit and the',
    'database migrations. Write /etc/tumbler/tumblerd.toml (see tumblerd.toml(5)),',
    'then enable the unit.',
  ],
  compiled: ['dist/server', 'dist/shared'],
  files: ['migrations', 'shared/native/tumbler_native.node'],
  executables: [],
  modules: ['better-sqlite3', 'commander', 'node-forge', 'pcap', 'pg', 'prom-client', 'raw-socket', 'smol-toml'],
  commands: { tumblerd: 'dist/server/main.js' },
  system: {
    [`${L.UNIT_DIR}/${L.UNIT_NAME}`]: 'systemd/tumblerd.service',
    [L.EXAMPLE_CONFIG]: 'server/config/example.toml',
  },
  man: ['man/tumblerd.8', 'man/tumblerd.toml.5'],
  docs: ['README.md', 'docs/operations.md', 'docs/protocol.md'],
  dirs: [L.CONFIG_DIR],
  depends: ['nftables | iptables', 'passwd'],
  recommends: [],
  suggests: ['ipset'],
};

export const CLIENT: PackageSpec = {
  name: L.CLIENT_PACKAGE,
  root: L.CLIENT_ROOT,
  summary: 'port-knocking client: opens services hidden by tumblerd',
  body: [
    'tumbler enrolls a device from the bundle its admin issued, knocks (three TCP',
    'SYNs through a small raw-socket helper), and prints the port the server opened',
    'for this address; as an ssh ProxyCommand it knocks and connects in one step.',
    '',
    'The helper is given cap_net_raw (or, without setcap, the setuid bit) when the',
    'package is configured; it drops every privilege before it reads its input.',
  ],
  compiled: ['dist/client', 'dist/shared'],
  files: ['client/helper/tumbler-helper'],
  executables: ['client/helper/tumbler-helper'],
  modules: ['commander', 'node-forge', 'raw-socket'],
  commands: { tumbler: 'dist/client/cli.js' },
  system: {},
  man: ['man/tumbler.1'],
  docs: ['README.md'],
  dirs: [],
  depends: [],
  recommends: ['libcap2-bin'],
  suggests: [],
};

export const PACKAGES: readonly PackageSpec[] = [SERVER, CLIENT];

/** package.json dependencies that no package ships, each with the reason. */
export const NOT_SHIPPED: Readonly<Record<string, string>> = {};
/** Modules needed only to build or type-check a dependency, never loaded: left out with their dependencies. */
export const BUILD_ONLY = ['prebuild-install', 'nan', '@types/node'];
/** The compiled addons of the native modules (every shipped module with a binding.gyp is listed). */
export const NATIVE_BINARIES: Readonly<Record<string, readonly string[]>> = {
  'better-sqlite3': ['build/Release/better_sqlite3.node'],
  pcap: ['build/Release/pcap_binding.node'],
  'raw-socket': ['build/Release/raw.node'],
};
export const MAINTAINER = 'Tumbler developers <tumbler@example.org>';
const SECTION = 'net';

// ---------------------------------------------------------------------------------------------

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

interface ProjectInfo {
  readonly version: string;
  readonly semver: string;
  readonly license: string;
  readonly type: string;
  readonly dependencies: readonly string[];
  readonly arch: string;
  readonly nodeMajor: number;
  readonly sourceDateEpoch: string;
  readonly revision: string;
}

function projectInfo(): ProjectInfo {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; license?: string; type?: string; dependencies?: Record<string, string> };
  if (!existsSync(L.NODE)) throw new TumblerError('PACKAGE_NODE', `the packages run ${L.NODE} (Debian's nodejs package); it is not installed here`);
  const nodeVersion = runTool(L.NODE, ['--version']).trim();
  const git = (args: string[]): string => {
    const r = spawnSync('git', args, { cwd: REPO, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : '';
  };
  return {
    version: debianVersion(pkg.version),
    semver: pkg.version,
    license: pkg.license ?? 'UNLICENSED',
    type: pkg.type ?? 'commonjs',
    dependencies: Object.keys(pkg.dependencies ?? {}),
    arch: debianArchitecture(),
    nodeMajor: Number(/^v(\d+)\./.exec(nodeVersion)?.[1]),
    sourceDateEpoch: process.env.SOURCE_DATE_EPOCH ?? (git(['log', '-1', '--format=%ct']) || String(Math.floor(Date.now() / 1000))),
    revision: git(['describe', '--always', '--dirty']) || 'unknown',
  };
}

/** The lists against package.json and the unit: a dependency no package ships, or a unit that runs another path, stops the build. */
export function checkLists(p: Pick<ProjectInfo, 'dependencies'>, unitText: string): void {
  const shipped = new Set(PACKAGES.flatMap((s) => s.modules));
  for (const m of shipped) {
    if (!p.dependencies.includes(m)) throw new TumblerError('PACKAGE_LISTS', `${m} is in a package's modules but not in package.json "dependencies"`);
  }
  for (const d of p.dependencies) {
    if (!shipped.has(d) && !(d in NOT_SHIPPED)) {
      throw new TumblerError('PACKAGE_LISTS', `dependency ${d} is shipped by no package: add it to the modules of the package that loads it (scripts/package/build.ts), or to NOT_SHIPPED with the reason`);
    }
  }
  const exec = /^ExecStart=(.*)$/m.exec(unitText)?.[1] ?? '';
  const want = `${L.NODE} ${L.SERVER_ROOT}/${SERVER.commands.tumblerd} --config ${L.CONFIG_FILE} `;
  if (!exec.startsWith(want)) throw new TumblerError('PACKAGE_LISTS', `systemd/tumblerd.service: ExecStart must start with "${want}" (the packaged paths)`);
  const stateDir = /^StateDirectory=(.*)$/m.exec(unitText)?.[1];
  if (`/var/lib/${stateDir}` !== L.STATE_DIR) throw new TumblerError('PACKAGE_LISTS', `systemd/tumblerd.service: StateDirectory= must be ${posix.basename(L.STATE_DIR)}`);
}

function compile(work: string): string {
  const out = join(work, 'tsc');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  runTool(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.json'), '--outDir', out]);
  runTool(process.execPath, [join(REPO, 'scripts/build-native.mjs')], { cwd: REPO });
  return out;
}

interface Staged {
  readonly tree: string;
  readonly modules: readonly ModuleEntry[];
}

/** Fills debian/<name>/ with everything but DEBIAN/. */
function stage(spec: PackageSpec, work: string, compiled: string, lock: Lockfile, p: ProjectInfo): Staged {
  const tree = join(work, 'debian', spec.name);
  const root = spec.root;
  // 1. The program: compiled JS, checkout files, a package.json that makes dist/ ES modules.
  for (const c of spec.compiled) {
    if (!c.startsWith('dist/')) throw new TumblerError('PACKAGE_LISTS', `${spec.name}: compiled entries start with dist/ (${c})`);
    copyTreeInto(join(compiled, c.slice('dist/'.length)), tree, `${root}/${c}`, (r) => r.endsWith('.js'));
  }
  for (const f of spec.files) {
    const src = join(REPO, f);
    if (existsSync(src) && statSync(src).isDirectory()) copyTreeInto(src, tree, `${root}/${f}`);
    else copyFileInto(src, tree, `${root}/${f}`);
  }
  writeFileInto(tree, `${root}/package.json`, `${JSON.stringify({ name: spec.name, version: p.semver, private: true, type: p.type, license: p.license }, null, 2)}\n`);

  // 2. npm modules: the run-time closure, pruned to what Node loads.
  const modules = runtimeClosure(lock, spec.modules, BUILD_ONLY).filter((m) => !(m.optional && !existsSync(join(REPO, m.path))));
  for (const m of modules) {
    const dir = join(REPO, m.path);
    const native = existsSync(join(dir, 'binding.gyp'));
    const binaries = NATIVE_BINARIES[m.name] ?? [];
    if (native && binaries.length === 0) {
      throw new TumblerError('PACKAGE_LISTS', `${m.name} is a native module: name its compiled addon(s) in NATIVE_BINARIES (scripts/package/build.ts)`);
    }
    for (const b of binaries) if (!existsSync(join(dir, b))) throw new TumblerError('PACKAGE_SOURCE_MISSING', `${m.path}/${b} is not built (npm ci builds it)`);
    copyTreeInto(dir, tree, `${root}/${m.path}`, (r) => shipsModuleFile(r, native, binaries));
  }

  // 3. Commands, system files, man pages, docs, owned directories.
  const template = readFileSync(join(REPO, 'packaging/command.sh.in'), 'utf8');
  for (const [command, entry] of Object.entries(spec.commands)) {
    const values = { COMMAND: command, PACKAGE: spec.name, NODE: L.NODE, ENTRY: posix.relative(L.BIN_DIR, `${root}/${entry}`) };
    writeFileInto(tree, `${L.BIN_DIR}/${command}`, fillTemplate(template, values, `${command} wrapper`));
  }
  for (const [installPath, src] of Object.entries(spec.system)) copyFileInto(join(REPO, src), tree, installPath);
  for (const page of spec.man) {
    const section = /\.([1-9])$/.exec(page)?.[1];
    if (!section) throw new TumblerError('PACKAGE_LISTS', `${page}: a man page ends with its section (.1 ... .9)`);
    gzipInto(join(REPO, page), tree, `/usr/share/man/man${section}/${basename(page)}.gz`);
  }
  const doc = L.docDir(spec.name);
  for (const d of spec.docs) gzipInto(join(REPO, d), tree, `${doc}/${basename(d)}.gz`);
  writeFileInto(tree, `${doc}/changelog.gz`, changelog(p)); // a native package's changelog name
  writeFileInto(tree, `${doc}/copyright`, copyrightFile(p.license, modules.map((m) => ({
    installPath: `${root.slice(1)}/${m.path}`, sourceDir: join(REPO, m.path), name: m.name, version: m.version,
  }))));
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

function changelog(p: ProjectInfo): Buffer {
  const date = new Date(Number(p.sourceDateEpoch) * 1000).toUTCString().replace('GMT', '+0000');
  const text = `tumbler (${p.version}) unstable; urgency=medium\n\n  * Built from the Tumbler source tree, revision ${p.revision}.\n\n -- ${MAINTAINER}  ${date}\n`;
  return gzipSync(Buffer.from(text), { level: 9 });
}

/** The import and load checks on a staged tree. */
function verify(spec: PackageSpec, s: Staged): void {
  const root = inTree(s.tree, spec.root);
  const shipped = new Set(s.modules.map((m) => m.name));
  const problems = spec.compiled.flatMap((c) => importProblems(root, c, shipped));
  if (problems.length) throw new TumblerError('PACKAGE_IMPORTS', `${spec.name}:\n  ${problems.join('\n  ')}`);
  const addons = [
    ...s.modules.flatMap((m) => (NATIVE_BINARIES[m.name] ?? []).map((b) => `${m.path}/${b}`)),
    ...spec.files.filter((f) => f.endsWith('.node')),
  ];
  checkModulesLoad(L.NODE, root, spec.modules, addons);
}

/** DEBIAN/: maintainer scripts, md5sums and control. */
function control(spec: PackageSpec, s: Staged, work: string, p: ProjectInfo): void {
  const debian = join(s.tree, 'DEBIAN');
  mkdirSync(debian, { mode: 0o755 });
  const scriptsDir = join(REPO, 'packaging', spec.name);
  const scripts = existsSync(scriptsDir) ? readdirSync(scriptsDir).filter((f) => ['preinst', 'postinst', 'prerm', 'postrm'].includes(f)) : [];
  for (const name of scripts) {
    const text = fillTemplate(readFileSync(join(scriptsDir, name), 'utf8'), L.substitutions(), `packaging/${spec.name}/${name}`);
    writeFileInto(s.tree, `/DEBIAN/${name}`, text);
    runTool('sh', ['-n', join(debian, name)]);
  }
  const entries = walkTree(s.tree);
  writeFileInto(s.tree, '/DEBIAN/md5sums', md5sums(s.tree, entries));
  const elf = entries.filter((e) => e.kind === 'file' && isElf(join(s.tree, e.path))).map((e) => relative(work, join(s.tree, e.path)));
  const node = [`nodejs (>= ${p.nodeMajor})`, `nodejs (<< ${p.nodeMajor + 1})`]; // the addons are built for this ABI
  const depends = [...sharedLibraryDepends(work, PACKAGES.map((x) => x.name), elf), ...node, ...spec.depends];
  writeFileInto(s.tree, '/DEBIAN/control', renderControl({
    Package: spec.name, Version: p.version, Architecture: p.arch, Maintainer: MAINTAINER,
    'Installed-Size': installedSize(entries), Depends: depends, Recommends: spec.recommends, Suggests: spec.suggests,
    Section: SECTION, Priority: 'optional', Description: { summary: spec.summary, body: spec.body },
  }));
  for (const f of readdirSync(debian)) chmodSync(join(debian, f), scripts.includes(f) ? 0o755 : 0o644);
}

export function buildPackages(outDir: string, opts: { keep?: boolean } = {}): string[] {
  process.umask(0o022);
  const p = projectInfo();
  checkLists(p, readFileSync(join(REPO, 'systemd/tumblerd.service'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as Lockfile;
  const work = mkdtempSync(join(tmpdir(), 'tumbler-package-'));
  try {
    const compiled = compile(work);
    const built: string[] = [];
    mkdirSync(outDir, { recursive: true });
    for (const spec of PACKAGES) {
      const s = stage(spec, work, compiled, lock, p);
      verify(spec, s);
      control(spec, s, work, p);
      const file = join(outDir, `${spec.name}_${p.version}_${p.arch}.deb`);
      buildDeb(s.tree, file, p.sourceDateEpoch);
      built.push(file);
    }
    return built;
  } finally {
    if (opts.keep) process.stderr.write(`package: staging kept in ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
}

function main(argv: string[]): void {
  let out = join(REPO, 'dist-deb');
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--out' && argv[i + 1]) out = resolve(argv[++i]!);
    else if (a === '--keep') keep = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run package [-- --out DIR] [--keep]\n  builds tumbler-server and tumbler-client .deb files (default DIR: dist-deb/)\n');
      return;
    } else throw new TumblerError('USAGE', `unknown argument ${a} (usage: --out DIR, --keep)`);
  }
  for (const f of buildPackages(out, { keep })) {
    process.stdout.write(`built ${relative(process.cwd(), f) || f} (${Math.round(statSync(f).size / 1024)} KiB)\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`package: ${e instanceof Error ? e.message : String(e)}${isTumblerError(e) ? ` (${e.code})` : ''}\n`);
    process.exit(isTumblerError(e, 'USAGE') ? 2 : 1);
  }
}

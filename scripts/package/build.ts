/**
 * `npm run package`: the Debian packages tumbler-server and tumbler-client, built with dpkg-deb
 * from a fresh compile of this checkout (never from a possibly stale dist/).
 *
 *   node --import tsx scripts/package/build.ts [--out DIR] [--keep]
 *     --out DIR   where the .deb files go (default: dist-deb/ in the checkout)
 *     --keep      keep the staging directory and print where it is
 *
 * What each package ships is the two lists below: adding a file, a module or a man page is one
 * line. Steps: the lists against package.json and the unit (checkLists) → tsc into the staging
 * directory, the C helper and the native addon (project.ts) → each package's tree, then every
 * import resolves and every module loads inside it (package-tree.ts) → DEBIAN/ with
 * dpkg-shlibdeps' Depends, md5sums and the maintainer scripts of packaging/<package>/
 * (debian-dir.ts) → dpkg-deb --root-owner-group (tools.ts). Paths and names: layout.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MONITOR_NODE_FLAGS } from '../../server/monitor/node-flags.js';
import { TumblerError, isTumblerError } from '../../shared/errors.js';
import { writeDebianDir } from './debian-dir.js';
import * as L from './layout.js';
import type { Lockfile } from './npm-closure.js';
import { stagePackage, verifyPackage } from './package-tree.js';
import { compile, projectInfo } from './project.js';
import type { BuildRules, PackageSpec, ProjectInfo } from './spec.js';
import { buildDeb } from './tools.js';

export type { PackageSpec } from './spec.js';

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
    '`tumbler agent` holds unlocked keys in memory for the session (a systemd user',
    'unit is included), and tumbler-connect lets ssh use it without starting Node.',
    '',
    'The helper is given cap_net_raw (or, without setcap, the setuid bit) when the',
    'package is configured; it drops every privilege before it reads its input.',
  ],
  // One esbuild bundle with a V8 code cache (scripts/build-client.mjs): commander and node-forge's
  // used modules are inside it; raw-socket (native) stays a module.
  compiled: ['dist/client/bin'],
  bundles: ['dist/client/bin'],
  files: ['client/helper/tumbler-helper', 'client/connector/tumbler-connect', 'shared/native/tumbler_native.node'],
  executables: ['client/helper/tumbler-helper', 'client/connector/tumbler-connect'],
  modules: ['raw-socket'],
  commands: { tumbler: 'dist/client/bin/tumbler.cjs' },
  system: { [`${L.USER_UNIT_DIR}/${L.AGENT_UNIT_NAME}`]: 'systemd/tumbler-agent.service' },
  man: ['man/tumbler.1', 'man/tumbler-connect.1'],
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
const MAINTAINER = 'Tumbler developers <tumbler@example.org>';
const SECTION = 'net';

const RULES: BuildRules = {
  packages: PACKAGES.map((x) => x.name), buildOnly: BUILD_ONLY, nativeBinaries: NATIVE_BINARIES, maintainer: MAINTAINER, section: SECTION,
};

// ---------------------------------------------------------------------------------------------

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The lists against package.json and the units: a dependency no package ships, or a unit that runs another path, stops the build. */
export function checkLists(p: Pick<ProjectInfo, 'dependencies'>, unitText: string, agentUnitText: string): void {
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
  const want = `${[L.NODE, ...MONITOR_NODE_FLAGS].join(' ')} ${L.SERVER_ROOT}/${SERVER.commands.tumblerd} --config ${L.CONFIG_FILE} `;
  if (!exec.startsWith(want)) throw new TumblerError('PACKAGE_LISTS', `systemd/tumblerd.service: ExecStart must start with "${want}" (the packaged paths, the monitor's V8 flags)`);
  const agentExec = /^ExecStart=(.*)$/m.exec(agentUnitText)?.[1] ?? '';
  if (!agentExec.startsWith(`${L.TUMBLER} agent`)) {
    throw new TumblerError('PACKAGE_LISTS', `systemd/${L.AGENT_UNIT_NAME}: ExecStart must start with "${L.TUMBLER} agent" (the packaged command)`);
  }
  const stateDir = /^StateDirectory=(.*)$/m.exec(unitText)?.[1];
  if (`/var/lib/${stateDir}` !== L.STATE_DIR) throw new TumblerError('PACKAGE_LISTS', `systemd/tumblerd.service: StateDirectory= must be ${posix.basename(L.STATE_DIR)}`);
}

export function buildPackages(outDir: string, opts: { keep?: boolean } = {}): string[] {
  process.umask(0o022);
  const project = projectInfo(REPO);
  checkLists(project, readFileSync(join(REPO, 'systemd/tumblerd.service'), 'utf8'), readFileSync(join(REPO, `systemd/${L.AGENT_UNIT_NAME}`), 'utf8'));
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as Lockfile;
  const work = mkdtempSync(join(tmpdir(), 'tumbler-package-'));
  try {
    const compiled = compile(REPO, work);
    const built: string[] = [];
    mkdirSync(outDir, { recursive: true });
    for (const spec of PACKAGES) {
      const staged = stagePackage(spec, { repo: REPO, work, compiled, lock, project, rules: RULES });
      verifyPackage(spec, staged, RULES);
      writeDebianDir(spec, staged, { repo: REPO, work, project, rules: RULES });
      const file = join(outDir, `${spec.name}_${project.version}_${project.arch}.deb`);
      buildDeb(staged.tree, file, project.sourceDateEpoch);
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

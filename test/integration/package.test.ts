/**
 * `npm run package`, built for real (scripts/package/build.ts into a temp directory), then read
 * back with dpkg-deb: control fields and dependencies, the maintainer scripts, every file's owner
 * and mode, production content only, the md5sums; unpacked into a temporary root, the commands
 * run from there (--version/--help, `tumblerd migrate` with the packaged migrations and native
 * SQLite, `tumblerd doctor` loading the packaged libpcap binding, the client finding the packaged
 * helper), and `systemd-analyze verify` on the packaged unit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'smol-toml';
import { CLIENT, SERVER, type PackageSpec } from '../../scripts/package/build.js';
import { debianVersion } from '../../scripts/package/control.js';
import * as L from '../../scripts/package/layout.js';
import { findMigrationsDir, listMigrations } from '../../server/store/migrations.js';
import { run as dpkgRun, type Run } from '../helpers/dpkg-root.js';
import { REPO, buildDebs, debContents, debControlListing, debField, unpack, type ArchiveEntry, type Built } from '../helpers/debs.js';

const isRoot = process.getuid?.() === 0;
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const arch = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim();
const nodeMajor = Number(/^v(\d+)/.exec(spawnSync(L.NODE, ['--version'], { encoding: 'utf8' }).stdout)?.[1]);

const run = (cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): Run => dpkgRun(cmd, args, { ...opts, timeoutMs: 60_000 });

/** Programs: the command wrappers, the scripts they run, the listed programs. Everything else is 0644 (files) or 0755 (dirs). */
const programs = (spec: PackageSpec): Set<string> => new Set([
  ...Object.keys(spec.commands).map((c) => `${L.BIN_DIR}/${c}`),
  ...Object.values(spec.commands).map((entry) => `${spec.root}/${entry}`),
  ...spec.executables.map((x) => `${spec.root}/${x}`),
]);
const EXECUTABLES = { server: programs(SERVER), client: programs(CLIENT) };

describe('the Debian packages', () => {
  let out = '';
  let root = '';
  let debs: Built;
  const contents: Record<'server' | 'client', ArchiveEntry[]> = { server: [], client: [] };

  before(() => {
    out = mkdtempSync(join(tmpdir(), 'tumbler-debs-'));
    debs = buildDebs(out);
    contents.server = debContents(debs.server);
    contents.client = debContents(debs.client);
    root = mkdtempSync(join(tmpdir(), 'tumbler-debroot-'));
    chmodSync(root, 0o755);
    unpack(debs.server, root);
    unpack(debs.client, root);
  });

  after(() => {
    if (out) rmSync(out, { recursive: true, force: true });
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('named package_version_arch.deb, version from package.json, architecture from this machine', () => {
    const v = debianVersion(pkg.version);
    assert.equal(debs.server, join(out, `${L.SERVER_PACKAGE}_${v}_${arch}.deb`));
    assert.equal(debs.client, join(out, `${L.CLIENT_PACKAGE}_${v}_${arch}.deb`));
    for (const deb of [debs.server, debs.client]) {
      assert.equal(debField(deb, 'Version'), v);
      assert.equal(debField(deb, 'Architecture'), arch);
      assert.match(debField(deb, 'Maintainer'), /^.+ <[^>]+>$/);
      assert.match(debField(deb, 'Installed-Size'), /^\d+$/);
    }
  });

  test('Depends: the Node major the addons are built for, shared libraries, the firewall tools', () => {
    const server = debField(debs.server, 'Depends').split(/,\s*/);
    const client = debField(debs.client, 'Depends').split(/,\s*/);
    for (const d of [server, client]) {
      assert.ok(d.includes(`nodejs (>= ${nodeMajor})`) && d.includes(`nodejs (<< ${nodeMajor + 1})`), d.join(', '));
      assert.ok(d.some((x) => /^libc6 \(>= [\d.]+\)$/.test(x)), d.join(', '));
    }
    assert.ok(server.some((x) => /^libpcap0\.8 \(>= [\d.]+\)$/.test(x)), server.join(', '));
    assert.ok(server.includes('nftables | iptables'));
    assert.ok(!client.some((x) => x.startsWith('libpcap')), 'the client does not capture');
    assert.equal(debField(debs.client, 'Recommends'), 'libcap2-bin');
  });

  test('every dependency is installable on this machine (apt would resolve it)', () => {
    for (const deb of [debs.server, debs.client]) {
      for (const alternatives of debField(deb, 'Depends').split(/,\s*/)) {
        const ok = alternatives.split(/\s*\|\s*/).some((dep) => {
          const m = /^([a-z0-9.+-]+)(?: \((>=|<<|<=|>>|=) ([^)]+)\))?$/.exec(dep);
          assert.ok(m, `dependency syntax: ${dep}`);
          const installed = run('dpkg-query', ['-W', '-f=${Version}', m[1]!]).stdout.trim();
          return installed !== '' && (!m[2] || run('dpkg', ['--compare-versions', installed, m[2]!.replace('>>', 'gt').replace('<<', 'lt')
            .replace('>=', 'ge').replace('<=', 'le').replace('=', 'eq'), m[3]!]).status === 0);
        });
        assert.ok(ok, `${debField(deb, 'Package')}: "${alternatives}" is not satisfied here`);
      }
    }
  });

  test('apt resolves the README\'s install command for both files with nothing more to fetch (simulated)', () => {
    const r = run('apt-get', ['install', '--simulate', '--no-install-recommends', debs.server, debs.client]);
    assert.equal(r.status, 0, r.stderr);
    const installs = [...r.stdout.matchAll(/^Inst (\S+)/gm)].map((m) => m[1]).sort();
    assert.deepEqual(installs, [L.CLIENT_PACKAGE, L.SERVER_PACKAGE]);
  });

  test('maintainer scripts: the right ones, executable, POSIX sh syntax, every placeholder filled', () => {
    const want = { server: ['control', 'md5sums', 'postinst', 'postrm', 'prerm'], client: ['control', 'md5sums', 'postinst'] };
    for (const side of ['server', 'client'] as const) {
      const deb = debs[side];
      const members = debControlListing(deb);
      assert.deepEqual(members.map((m) => m.path.slice(1)).sort(), want[side]);
      for (const m of members) {
        assert.equal(m.owner, 'root/root');
        const script = ['postinst', 'prerm', 'postrm'].includes(m.path.slice(1));
        assert.equal(m.mode, script ? '-rwxr-xr-x' : '-rw-r--r--', m.path);
        if (!script) continue;
        const file = join(root, 'DEBIAN', debField(deb, 'Package'), m.path.slice(1));
        const text = readFileSync(file, 'utf8');
        assert.match(text, /^#!\/bin\/sh\n/);
        assert.match(text, /^set -e$/m);
        assert.doesNotMatch(text, /@[A-Za-z0-9_]+@/, `${m.path}: a placeholder is left`);
        assert.equal(run('sh', ['-n', file]).status, 0, `${m.path}: sh -n`);
        assert.equal(run('bash', ['--posix', '-n', file]).status, 0, `${m.path}: bash --posix -n`);
      }
    }
  });

  test('every file is root:root with a sane mode: 0755 dirs, 0644 files, 0755 programs, nothing setuid in the archive', () => {
    for (const side of ['server', 'client'] as const) {
      const bad: string[] = [];
      for (const e of contents[side]) {
        if (e.owner !== 'root/root') bad.push(`${e.path} owned by ${e.owner}`);
        const want = e.path.endsWith('/') ? 'drwxr-xr-x' : EXECUTABLES[side].has(e.path) ? '-rwxr-xr-x' : '-rw-r--r--';
        if (e.mode !== want) bad.push(`${e.path} is ${e.mode}, want ${want}`);
      }
      assert.deepEqual(bad, [], side);
      for (const x of EXECUTABLES[side]) assert.ok(contents[side].some((e) => e.path === x), `${x} is packaged`);
      assert.ok(EXECUTABLES.client.has(L.HELPER) && EXECUTABLES.server.has(L.TUMBLERD) && EXECUTABLES.client.has(L.TUMBLER));
    }
  });

  test('production content only: no devDependencies, tests, TypeScript, C sources, maps or build trees', () => {
    const forbidden = [
      ...Object.keys(pkg.devDependencies).map((d) => new RegExp(`/node_modules/${d.replace('/', '\\/')}/`)),
      /\/node_modules\/(typescript|tsx|esbuild|@esbuild|prebuild-install|nan)\//,
      /\.(ts|map|c|cc|cpp|h|o|gyp)$/, /\/(test|tests|spec|examples?)\//, /\/build\/Release\/obj\.target\//, /\/deps\//,
      /\/\.[^/]+$/,
    ];
    for (const side of ['server', 'client'] as const) {
      const base = `${side === 'server' ? L.SERVER_ROOT : L.CLIENT_ROOT}/`;
      const hits = contents[side].filter((e) => e.path.startsWith(base) && !e.path.endsWith('/') && forbidden.some((re) => re.test(e.path))).map((e) => e.path);
      assert.deepEqual(hits, [], side);
    }
    const paths = (side: 'server' | 'client'): string[] => contents[side].map((e) => e.path);
    assert.ok(!paths('server').some((p) => p.startsWith(`${L.SERVER_ROOT}/dist/client/`)), 'the server carries no client');
    assert.ok(!paths('client').some((p) => p.startsWith(`${L.CLIENT_ROOT}/dist/server/`)), 'the client carries no server');
    for (const m of ['better-sqlite3', 'pcap', 'pg', 'prom-client', 'smol-toml']) {
      assert.ok(!paths('client').some((p) => p.startsWith(`${L.CLIENT_ROOT}/node_modules/${m}/`)), `the client carries no ${m}`);
    }
  });

  test('what each package must carry is there', () => {
    const has = (side: 'server' | 'client', p: string): boolean => contents[side].some((e) => e.path === p);
    const migrations = (readdirSync(join(REPO, 'migrations'), { recursive: true }) as string[])
      .filter((f) => statSync(join(REPO, 'migrations', f)).isFile()).map((f) => `/migrations/${f}`);
    assert.ok(migrations.length > 0);
    for (const p of [
      L.TUMBLERD, `${L.SERVER_ROOT}/package.json`, `${L.SERVER_ROOT}/dist/server/main.js`, `${L.SERVER_ROOT}/dist/server/worker/main.js`,
      `${L.SERVER_ROOT}/shared/native/tumbler_native.node`, ...migrations.map((m) => `${L.SERVER_ROOT}${m}`),
      `${L.SERVER_ROOT}/node_modules/better-sqlite3/build/Release/better_sqlite3.node`,
      `${L.SERVER_ROOT}/node_modules/pcap/build/Release/pcap_binding.node`, `${L.SERVER_ROOT}/node_modules/raw-socket/build/Release/raw.node`,
      `${L.UNIT_DIR}/${L.UNIT_NAME}`, L.EXAMPLE_CONFIG, '/usr/share/man/man8/tumblerd.8.gz', '/usr/share/man/man5/tumblerd.toml.5.gz',
      `${L.docDir(L.SERVER_PACKAGE)}/copyright`, `${L.docDir(L.SERVER_PACKAGE)}/changelog.gz`, `${L.CONFIG_DIR}/`,
    ]) assert.ok(has('server', p), `server: ${p}`);
    assert.ok(!has('server', L.CONFIG_FILE), 'the configuration is the admin\'s: never shipped');
    for (const p of [L.TUMBLER, L.HELPER, L.CONNECTOR, ...['tumbler.cjs', 'tumbler-main.js', 'tumbler-main.cache'].map((f) => `${L.CLIENT_ROOT}/dist/client/bin/${f}`),
      `${L.CLIENT_ROOT}/shared/native/tumbler_native.node`, `${L.CLIENT_ROOT}/node_modules/raw-socket/build/Release/raw.node`,
      `${L.USER_UNIT_DIR}/${L.AGENT_UNIT_NAME}`, '/usr/share/man/man1/tumbler.1.gz', '/usr/share/man/man1/tumbler-connect.1.gz', `${L.docDir(L.CLIENT_PACKAGE)}/copyright`]) {
      assert.ok(has('client', p), `client: ${p}`);
    }
    // The bundle carries commander and node-forge; the tsc modules are not shipped a second time.
    for (const m of ['commander', 'node-forge']) assert.ok(!contents.client.some((e) => e.path.startsWith(`${L.CLIENT_ROOT}/node_modules/${m}/`)), `client: no ${m} module`);
    assert.ok(!contents.client.some((e) => e.path === `${L.CLIENT_ROOT}/dist/client/cli.js`), 'client: only the bundle');
    assert.deepEqual(readFileSync(join(root, L.EXAMPLE_CONFIG)), readFileSync(join(REPO, 'server/config/example.toml')));
    assert.deepEqual(readFileSync(join(root, L.UNIT_DIR, L.UNIT_NAME)), readFileSync(join(REPO, 'systemd/tumblerd.service')));
    assert.deepEqual(readFileSync(join(root, L.USER_UNIT_DIR, L.AGENT_UNIT_NAME)), readFileSync(join(REPO, `systemd/${L.AGENT_UNIT_NAME}`)));
  });

  test('every ELF file is stripped of debugging information', () => {
    const elves = [...contents.server, ...contents.client].map((e) => e.path).filter((p) => !p.endsWith('/') && readFileSync(join(root, p)).subarray(0, 4).toString('latin1') === '\x7fELF');
    assert.ok(elves.length >= 6, elves.join(' '));
    for (const f of elves) {
      const sections = run('readelf', ['-S', '-W', join(root, f)]);
      assert.equal(sections.status, 0, sections.stderr);
      assert.doesNotMatch(sections.stdout, /\.debug_|\.comment/, f);
    }
  });

  test('md5sums list every file with its digest', () => {
    for (const side of ['server', 'client'] as const) {
      const deb = debs[side];
      const listed = new Map<string, string>(readFileSync(join(root, 'DEBIAN', debField(deb, 'Package'), 'md5sums'), 'utf8').trim().split('\n')
        .map((l) => [`/${l.slice(34)}`, l.slice(0, 32)] as const));
      const files = contents[side].filter((e) => !e.path.endsWith('/')).map((e) => e.path);
      assert.deepEqual([...listed.keys()].sort(), files.sort());
      for (const f of files) assert.equal(createHash('md5').update(readFileSync(join(root, f))).digest('hex'), listed.get(f), f);
    }
  });

  test('the copyright file names every bundled npm module', () => {
    for (const side of ['server', 'client'] as const) {
      const base = side === 'server' ? L.SERVER_ROOT : L.CLIENT_ROOT;
      const modules = new Set(contents[side].map((e) => new RegExp(`^${base}/(node_modules/(?:@[^/]+/)?[^/]+)/package\\.json$`).exec(e.path)?.[1]).filter(Boolean));
      const text = readFileSync(join(root, L.docDir(side === 'server' ? L.SERVER_PACKAGE : L.CLIENT_PACKAGE), 'copyright'), 'utf8');
      assert.match(text, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/$/m);
      for (const m of modules) assert.ok(text.includes(`Files: ${base.slice(1)}/${m}/*`), `${side}: ${m}`);
      assert.ok(modules.size >= (side === 'server' ? 3 : 1));
    }
    // The client's bundle: the modules compiled into it are named there, and their licence texts ship.
    const text = readFileSync(join(root, L.docDir(L.CLIENT_PACKAGE), 'copyright'), 'utf8');
    const para = text.split('\n\n').find((p) => p.startsWith(`Files: ${L.CLIENT_ROOT.slice(1)}/dist/client/bin/*`));
    assert.ok(para, 'a paragraph for the bundle');
    for (const m of ['commander', 'node-forge']) {
      const named = new RegExp(`licence text: (/usr/share/doc/${L.CLIENT_PACKAGE}/licenses/${m}/\\S+)\\)`).exec(para);
      assert.ok(named, `the bundle paragraph names ${m} and its licence text`);
      assert.ok(statSync(join(root, named[1]!)).isFile(), `${named[1]} ships`);
    }
  });

  test('the unpacked commands run: tumblerd --version (or --help), tumbler --help and --version', () => {
    const help = run(join(root, L.TUMBLERD), ['--help']);
    assert.equal(help.status, 0, help.stderr);
    if (/--version/.test(help.stdout)) {
      const v = run(join(root, L.TUMBLERD), ['--version']);
      assert.equal(v.status, 0, v.stderr);
      assert.ok(v.stdout.includes(pkg.version), v.stdout);
    }
    assert.equal(run(join(root, L.TUMBLER), ['--help']).status, 0);
    const v = run(join(root, L.TUMBLER), ['--version']);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), pkg.version, 'tumbler --version is package.json\'s version');
  });

  test('the facts the packages, tumblerd and example.toml share agree', () => {
    const flat = run(join(root, L.TUMBLERD), ['--help']).stdout.replace(/\s+/g, ' ');
    assert.ok(flat.includes(`(default: "${L.CONFIG_FILE}")`), 'tumblerd --config default');
    const example = parse(readFileSync(join(REPO, 'server/config/example.toml'), 'utf8')) as { server: { user: string }; store: { path: string } };
    assert.equal(example.server.user, L.WORKER_ACCOUNT);
    assert.equal(dirname(example.store.path), L.STATE_DIR);
    const stopHelp = run(join(root, L.TUMBLERD), ['stop', '--help']).stdout.replace(/\s+/g, ' ');
    assert.ok(stopHelp.includes(`(default: "${L.PID_FILE}")`));
  });

  test('the bundled client finds the packaged helper next to itself (install-helper copies it by default)', { skip: !isRoot && 'needs root (install-helper)' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tumbler-debhelper-'));
    try {
      const to = join(dir, 'tumbler-helper');
      const r = run(join(root, L.TUMBLER), ['install-helper', '--mode', 'setuid', '--to', to]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(readFileSync(to), readFileSync(join(root, L.HELPER)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the packaged agent runs (native addon next to the bundle) and tumbler-connect talks to it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tumbler-debagent-'));
    const env = { PATH: '/usr/bin:/bin', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), TUMBLER_AGENT_SOCK: join(dir, 'run', 'agent.sock') };
    try {
      const start = run(join(root, L.TUMBLER), ['agent', '--detach'], { env });
      assert.equal(start.status, 0, start.stderr);
      const status = run(join(root, L.TUMBLER), ['status', '--json'], { env });
      assert.equal(status.status, 0, status.stderr);
      assert.ok(Number.isInteger((JSON.parse(status.stdout) as { agent: { pid: number } | null }).agent?.pid), status.stdout);
      // The connector asks the packaged agent, which answers for a profile that does not exist: the client's exit status for it.
      const c = run(join(root, L.CONNECTOR), ['--no-unlock', 'nosuch', 'ssh'], { env });
      assert.equal(c.status, 3, c.stderr);
      assert.match(c.stderr, /PROFILE_NOT_FOUND/);
    } finally {
      run(join(root, L.TUMBLER), ['agent', '--stop'], { env });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('systemd-analyze verify accepts the unit (its man: links resolve to the packaged pages), and its ExecStart runs a file the package ships', () => {
    const unit = join(root, L.UNIT_DIR, L.UNIT_NAME);
    // verify runs man(1) for each Documentation=man: link; point it at the unpacked pages only.
    const r = run('systemd-analyze', ['verify', unit], { env: { ...process.env, MANPATH: join(root, 'usr/share/man') } });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(`${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes(L.UNIT_NAME)), [], 'no finding about the unit');
    const exec = /^ExecStart=(\S+) (.*)$/m.exec(readFileSync(unit, 'utf8'));
    assert.ok(exec);
    assert.equal(exec[1], L.NODE);
    const script = exec[2]!.split(/\s+/).find((a) => !a.startsWith('-'))!;
    assert.ok(statSync(join(root, script)).isFile(), `${script} is in the package`);
  });

  test('the agent\'s user unit runs the packaged tumbler, and its man: links resolve to the packaged pages', () => {
    const text = readFileSync(join(root, L.USER_UNIT_DIR, L.AGENT_UNIT_NAME), 'utf8');
    const exec = /^ExecStart=(\S+) (\S+)/m.exec(text);
    assert.deepEqual([exec?.[1], exec?.[2]], [L.TUMBLER, 'agent']);
    assert.ok(statSync(join(root, L.TUMBLER)).isFile());
    for (const m of text.matchAll(/man:([a-z-]+)\((\d)\)/g)) {
      assert.ok(statSync(join(root, `usr/share/man/man${m[2]}/${m[1]}.${m[2]}.gz`)).isFile(), `${m[1]}(${m[2]}) is packaged`);
    }
  });

  test('tumblerd from the unpacked root creates its database with the packaged migrations and loads libpcap', { skip: !isRoot && 'needs root (worker account, chown)' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'tumbler-debdb-'));
    try {
      chmodSync(dir, 0o755);
      const database = join(dir, 'state', 'tumbler.db');
      const config = join(dir, 'tumblerd.toml');
      const example = readFileSync(join(root, L.EXAMPLE_CONFIG), 'utf8')
        .replace('interfaces = ["eth0"]', 'interfaces = ["lo"]').replace(`path = "${L.STATE_DIR}/tumbler.db"`, `path = "${database}"`);
      assert.ok(example.includes(database), 'the example names the packaged database path');
      writeFileSync(config, example, { mode: 0o644 });
      const m = run(join(root, L.TUMBLERD), ['--config', config, 'migrate']);
      assert.equal(m.status, 0, m.stderr);
      const db = new Database(database, { readonly: true });
      try {
        assert.equal(db.pragma('user_version', { simple: true }), listMigrations(findMigrationsDir('sqlite')).length);
      } finally {
        db.close();
      }
      const d = run(join(root, L.TUMBLERD), ['--config', config, 'doctor', '--json']);
      const checks = (JSON.parse(d.stdout) as { checks: Array<{ name: string; status: string }> }).checks;
      assert.equal(checks.find((c) => c.name === 'libpcap')?.status, 'ok', 'the packaged pcap binding loads');
      assert.equal(checks.find((c) => c.name === 'config')?.status, 'ok');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

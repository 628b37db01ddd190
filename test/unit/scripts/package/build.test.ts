import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BUILD_ONLY, CLIENT, NATIVE_BINARIES, PACKAGES, SERVER, checkLists } from '../../../../scripts/package/build.js';
import * as L from '../../../../scripts/package/layout.js';

const repo = new URL('../../../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', repo), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const unit = readFileSync(new URL('systemd/tumblerd.service', repo), 'utf8');
const agentUnit = readFileSync(new URL(`systemd/${L.AGENT_UNIT_NAME}`, repo), 'utf8');
const deps = Object.keys(pkg.dependencies);

test('the lists agree with package.json and the unit as they are', () => {
  assert.doesNotThrow(() => checkLists({ dependencies: deps }, unit, agentUnit));
});

test('a new dependency that no package ships stops the build', () => {
  assert.throws(() => checkLists({ dependencies: [...deps, 'left-pad'] }, unit, agentUnit), { code: 'PACKAGE_LISTS' });
});

test('a module in a package that package.json does not list as a dependency stops the build', () => {
  assert.throws(() => checkLists({ dependencies: deps.filter((d) => d !== 'pcap') }, unit, agentUnit), { code: 'PACKAGE_LISTS' });
});

test('a unit that runs another path or keeps its state elsewhere stops the build', () => {
  assert.throws(() => checkLists({ dependencies: deps }, unit.replace('/usr/lib/tumbler-server/', '/usr/local/lib/tumbler/'), agentUnit), { code: 'PACKAGE_LISTS' });
  assert.throws(() => checkLists({ dependencies: deps }, unit.replace('--config /etc/tumbler/', '--config /etc/other/'), agentUnit), { code: 'PACKAGE_LISTS' });
  assert.throws(() => checkLists({ dependencies: deps }, unit.replace('StateDirectory=tumbler', 'StateDirectory=other'), agentUnit), { code: 'PACKAGE_LISTS' });
  assert.throws(() => checkLists({ dependencies: deps }, unit.replace(' --jitless', ''), agentUnit), { code: 'PACKAGE_LISTS' }); // the monitor's V8 flags
});

test('an agent user unit that runs another tumbler than the packaged one stops the build', () => {
  assert.throws(() => checkLists({ dependencies: deps }, unit, agentUnit.replace(`ExecStart=${L.TUMBLER} agent`, 'ExecStart=/usr/local/bin/tumbler agent')), { code: 'PACKAGE_LISTS' });
});

test('no devDependency is shipped or treated as run-time', () => {
  const dev = Object.keys(pkg.devDependencies);
  for (const spec of PACKAGES) for (const m of spec.modules) assert.ok(!dev.includes(m), `${spec.name} ships devDependency ${m}`);
  assert.ok(!BUILD_ONLY.some((m) => deps.includes(m)), 'a direct dependency cannot be build-only');
});

test('the client never carries the server, its database or capture modules', () => {
  assert.ok(!CLIENT.compiled.includes('dist/server'));
  for (const m of ['better-sqlite3', 'pcap', 'pg', 'smol-toml']) assert.ok(!CLIENT.modules.includes(m), m);
  assert.ok(SERVER.modules.every((m) => deps.includes(m)));
});

test('the helper where the client looks for it, and the ssh connector, are listed programs of the client package', () => {
  for (const path of [L.HELPER, L.CONNECTOR]) {
    const rel = path.slice(CLIENT.root.length + 1);
    assert.ok(path.startsWith(`${CLIENT.root}/`));
    assert.ok(CLIENT.files.includes(rel) && CLIENT.executables.includes(rel), rel);
  }
});

test('the client runs its bundle, which carries commander and node-forge: only raw-socket ships as a module', () => {
  assert.ok(CLIENT.commands.tumbler!.startsWith(`${CLIENT.compiled[0]}/`));
  assert.deepEqual(CLIENT.modules, ['raw-socket']);
});

test('every native binary named belongs to a shipped module', () => {
  const shipped = new Set(PACKAGES.flatMap((s) => s.modules));
  for (const m of Object.keys(NATIVE_BINARIES)) assert.ok(shipped.has(m), m);
});

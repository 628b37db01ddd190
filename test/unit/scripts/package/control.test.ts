import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianVersion, installedSize, md5sums, renderControl, walkTree, type ControlFields } from '../../../../scripts/package/control.js';

test('package.json versions map to native Debian versions', () => {
  assert.equal(debianVersion('0.1.0'), '0.1.0');
  assert.equal(debianVersion('1.2.3-rc.1'), '1.2.3~rc.1');
  assert.equal(debianVersion('1.2.3-beta-2+build.5'), '1.2.3~beta.2+build.5');
  for (const bad of ['1.2', 'v1.2.3', '1.2.3-', '1.2.3 ', '1:1.2.3']) assert.throws(() => debianVersion(bad), { code: 'PACKAGE_VERSION' }, bad);
});

test('a pre-release sorts before its release for dpkg too', () => {
  const cmp = (a: string, op: string, b: string): boolean => spawnSync('dpkg', ['--compare-versions', a, op, b]).status === 0;
  assert.ok(cmp(debianVersion('1.0.0-rc.1'), 'lt', debianVersion('1.0.0')));
  assert.ok(cmp(debianVersion('1.0.0-alpha'), 'lt', debianVersion('1.0.0-alpha.1')));
  assert.ok(cmp(debianVersion('1.0.0'), 'lt', debianVersion('1.0.1-rc.1')));
});

const fields: ControlFields = {
  Package: 'tumbler-server', Version: '0.1.0', Architecture: 'amd64', Maintainer: 'M <m@example.org>', 'Installed-Size': 42,
  Depends: ['libc6 (>= 2.34)', 'nftables | iptables'], Recommends: [], Suggests: ['ipset'], Section: 'net', Priority: 'optional',
  Description: { summary: 'short', body: ['first line', '', 'second paragraph'] },
};

test('the control file has one field per line and a folded description', () => {
  assert.equal(renderControl(fields), [
    'Package: tumbler-server', 'Version: 0.1.0', 'Architecture: amd64', 'Maintainer: M <m@example.org>', 'Installed-Size: 42',
    'Depends: libc6 (>= 2.34), nftables | iptables', 'Suggests: ipset', 'Section: net', 'Priority: optional',
    'Description: short', ' first line', ' .', ' second paragraph', '',
  ].join('\n'));
});

test('a value that would break the control file is refused', () => {
  assert.throws(() => renderControl({ ...fields, Package: 'Tumbler_Server' }), { code: 'PACKAGE_CONTROL' });
  assert.throws(() => renderControl({ ...fields, Version: '0.1.0-1' }), { code: 'PACKAGE_CONTROL' });
  assert.throws(() => renderControl({ ...fields, Maintainer: 'M\nDepends: evil' }), { code: 'PACKAGE_CONTROL' });
  assert.throws(() => renderControl({ ...fields, Depends: [] }), { code: 'PACKAGE_CONTROL' });
  assert.throws(() => renderControl({ ...fields, Description: { summary: 'x', body: ['a\nb'] } }), { code: 'PACKAGE_CONTROL' });
  assert.throws(() => renderControl({ ...fields, Description: { summary: 'x', body: ['y'.repeat(80)] } }), { code: 'PACKAGE_CONTROL' });
  assert.doesNotThrow(() => renderControl({ ...fields, Description: { summary: 'x', body: ['y'.repeat(79)] } }));
});

test('Installed-Size and md5sums are computed from the tree, DEBIAN/ excluded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tumbler-control-'));
  try {
    mkdirSync(join(dir, 'DEBIAN'));
    writeFileSync(join(dir, 'DEBIAN', 'control'), 'x');
    mkdirSync(join(dir, 'usr', 'bin'), { recursive: true });
    writeFileSync(join(dir, 'usr', 'bin', 'a'), 'hello\n');
    writeFileSync(join(dir, 'usr', 'big'), Buffer.alloc(2049));
    const entries = walkTree(dir);
    assert.deepEqual(entries.map((e) => `${e.kind}:${e.path}`), ['dir:usr', 'file:usr/big', 'dir:usr/bin', 'file:usr/bin/a']);
    assert.equal(installedSize(entries), 1 + 1 + 1 + 3);
    assert.equal(md5sums(dir, entries).split('\n')[1], 'b1946ac92492d2347c6235b4d2611184  usr/bin/a');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

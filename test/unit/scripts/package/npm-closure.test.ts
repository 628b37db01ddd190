import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nameOf, resolveFrom, runtimeClosure, type Lockfile } from '../../../../scripts/package/npm-closure.js';

// A lockfile shaped like npm's: a nested copy of "nan" under raw-socket, a scoped package,
// an install-time-only dependency with its own tree, a devDependency and an optional one.
const lock: Lockfile = {
  lockfileVersion: 3,
  packages: {
    '': { dependencies: { 'raw-socket': '^1', sqlite: '^1', metrics: '^1' } },
    'node_modules/raw-socket': { version: '1.8.1', dependencies: { nan: '2.19' } },
    'node_modules/raw-socket/node_modules/nan': { version: '2.19.0' },
    'node_modules/nan': { version: '2.30.0' },
    'node_modules/sqlite': { version: '12.0.0', dependencies: { bindings: '^1', 'prebuild-install': '^7' } },
    'node_modules/bindings': { version: '1.5.0', dependencies: { 'file-uri': '^1' } },
    'node_modules/file-uri': { version: '1.0.0' },
    'node_modules/prebuild-install': { version: '7.1.3', dependencies: { tar: '^2' } },
    'node_modules/tar': { version: '2.1.5' },
    'node_modules/metrics': { version: '15.0.0', dependencies: { '@otel/api': '^1' }, optionalDependencies: { 'not-here': '^1', extra: '^1' } },
    'node_modules/@otel/api': { version: '1.10.0' },
    'node_modules/extra': { version: '1.0.0', optional: true },
    'node_modules/typescript': { version: '5.9.3', dev: true },
  },
};

test('names come from the last node_modules segment, scopes included', () => {
  assert.equal(nameOf('node_modules/raw-socket/node_modules/nan'), 'nan');
  assert.equal(nameOf('node_modules/@otel/api'), '@otel/api');
});

test('a dependency resolves to the nearest node_modules, then upwards, as Node does', () => {
  assert.equal(resolveFrom(lock, 'node_modules/raw-socket', 'nan'), 'node_modules/raw-socket/node_modules/nan');
  assert.equal(resolveFrom(lock, 'node_modules/sqlite', 'bindings'), 'node_modules/bindings');
  assert.equal(resolveFrom(lock, '', 'nope'), null);
});

test('the closure follows dependencies and optional ones that exist, and leaves build-only trees out', () => {
  const got = runtimeClosure(lock, ['raw-socket', 'sqlite', 'metrics'], ['prebuild-install', 'nan']);
  assert.deepEqual(got.map((m) => m.path), [
    'node_modules/@otel/api',
    'node_modules/bindings',
    'node_modules/extra',
    'node_modules/file-uri',
    'node_modules/metrics',
    'node_modules/raw-socket',
    'node_modules/sqlite',
  ]);
  assert.equal(got.find((m) => m.name === 'extra')?.optional, true);
  assert.equal(got.find((m) => m.name === 'sqlite')?.version, '12.0.0');
});

test('without the build-only list the install-time tree would ship (the list is what keeps it out)', () => {
  const got = runtimeClosure(lock, ['sqlite']).map((m) => m.name);
  assert.ok(got.includes('prebuild-install') && got.includes('tar'));
});

test('a devDependency needed at run time and a missing module are errors', () => {
  assert.throws(() => runtimeClosure(lock, ['typescript']), { code: 'PACKAGE_DEV_MODULE' });
  assert.throws(() => runtimeClosure(lock, ['left-pad']), { code: 'PACKAGE_MODULE_MISSING' });
  assert.throws(() => runtimeClosure({ lockfileVersion: 1, packages: {} }, ['x']), { code: 'PACKAGE_LOCKFILE' });
});

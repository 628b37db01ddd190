import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shipsModuleFile } from '../../../../scripts/package/module-files.js';

test('a pure-JS module ships its code, JSON and licence, not docs, tests, types or maps', () => {
  for (const f of ['package.json', 'index.js', 'lib/command.js', 'esm.mjs', 'dist/index.cjs', 'LICENSE', 'LICENSE.md', 'license', 'decode/ipv4.js']) {
    assert.equal(shipsModuleFile(f, false, []), true, f);
  }
  for (const f of ['README.md', 'CHANGELOG.md', 'index.d.ts', 'dist/index.js.map', 'src/index.ts', 'test/a.js', 'spec/b.js',
    'examples/c.js', 'docs/x.js', '.github/workflows/ci.yml', '.eslintrc', 'Gruntfile.js', 'node_modules/nan/nan.h', 'lib/LICENSE.md']) {
    assert.equal(shipsModuleFile(f, false, []), false, f);
  }
});

test('a native module ships only the addons named for it, never its build tree or sources', () => {
  const bins = ['build/Release/better_sqlite3.node'];
  assert.equal(shipsModuleFile('build/Release/better_sqlite3.node', true, bins), true);
  assert.equal(shipsModuleFile('lib/database.js', true, bins), true);
  for (const f of ['build/Release/test_extension.node', 'build/Release/obj.target/better_sqlite3.node', 'build/Makefile',
    'deps/sqlite3/sqlite3.c', 'src/better_sqlite3.cpp', 'binding.gyp', 'pcap_session.cc', 'pcap_session.h']) {
    assert.equal(shipsModuleFile(f, true, bins), false, f);
  }
});

test('an addon is never picked up by accident in a module not declared native', () => {
  assert.equal(shipsModuleFile('prebuilds/linux-x64/addon.node', false, []), false);
});

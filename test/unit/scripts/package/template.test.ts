import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillTemplate } from '../../../../scripts/package/template.js';

test('placeholders are replaced by their values', () => {
  assert.equal(fillTemplate('rm -rf "$DPKG_ROOT@STATE_DIR@" # @PKG@', { STATE_DIR: '/var/lib/tumbler', PKG: 'tumbler-server' }, 't'),
    'rm -rf "$DPKG_ROOT/var/lib/tumbler" # tumbler-server');
});

test('a placeholder without a value, a value that is not plain, or a malformed placeholder is refused', () => {
  assert.throws(() => fillTemplate('@MISSING@', {}, 't'), { code: 'PACKAGE_TEMPLATE' });
  for (const bad of ['/var/lib/$(reboot)', "a'b", 'a"b', 'a\nb', '', 'x;y', 'a`b`']) {
    assert.throws(() => fillTemplate('@V@', { V: bad }, 't'), { code: 'PACKAGE_TEMPLATE' }, JSON.stringify(bad));
  }
  assert.throws(() => fillTemplate('@lower_case@', {}, 't'), { code: 'PACKAGE_TEMPLATE' });
});

test('a lone @ (an e-mail address, a shell "$@") is left alone', () => {
  assert.equal(fillTemplate('exec x "$@" # tumbler@example.org', {}, 't'), 'exec x "$@" # tumbler@example.org');
});

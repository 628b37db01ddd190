import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT_CODES_HELP, exitCodeFor } from '../../../../server/admin/exit.js';

test('exit codes: 2 config/usage, 3 not found or exists, 4 busy (restore), 1 everything else', () => {
  assert.equal(exitCodeFor('CONFIG_SYNTAX'), 2);
  assert.equal(exitCodeFor('USAGE'), 2);
  assert.equal(exitCodeFor('ADMIN_UNKNOWN_SERVICE'), 2);
  assert.equal(exitCodeFor('STORE_SCHEMA_NEWER'), 2);
  assert.equal(exitCodeFor('STORE_NOT_FOUND'), 3);
  assert.equal(exitCodeFor('STORE_EXISTS'), 3);
  assert.equal(exitCodeFor('ADMIN_NOT_RUNNING'), 3);
  assert.equal(exitCodeFor('ADMIN_DAEMON_RUNNING'), 4);
  assert.equal(exitCodeFor('ADMIN_RESTORE_INVALID'), 2);
  assert.equal(exitCodeFor('FIREWALL_NFT'), 1);
  assert.equal(exitCodeFor('UNKNOWN'), 1);
});

test('the help lists every status in order; the password-file mode error is a usage error', () => {
  assert.match(EXIT_CODES_HELP, /^Exit codes:\n {3}0 {2}success\n {3}1 .*\n {3}2 .*\n {3}3 .*\n {3}4 .*$/);
  assert.equal(exitCodeFor('ADMIN_PASSWORD_FILE_MODE'), 2);
});

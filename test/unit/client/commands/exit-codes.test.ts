/** The client's exit-code table: one status per cause, by exact code or prefix, else 1. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from '../../../../client/commands/exit-codes.js';

test('each cause has its own status', () => {
  const cases: Array<[string, number]> = [
    ['BAD_ARGUMENT', 2], ['PASSWORD_FILE_MODE', 2], ['GATEWAY_UNKNOWN', 2], ['PROFILE_EXISTS', 3], ['PROFILE_PERMISSIONS', 3],
    ['BUNDLE_VERSION', 3], ['HELPER_MISSING', 4], ['HELPER_ANYTHING_NEW', 4], ['SERVER_SILENT', 5], ['NO_ROUTE', 5],
    ['CLOCK_AHEAD', 6], ['CLOCK_BEHIND', 6], ['CLOCK_SKEW', 6], ['PROXY_CONNECT', 7], ['PASSWORD_WRONG', 8],
    ['ADDRESS_MISMATCH', 9], ['ADDRESS_UNSTABLE', 9], ['KNOCK_REFUSED', 10], ['AGENT_LOCKED', 11], ['AGENT_UNAVAILABLE', 11], ['AGENT_ANYTHING_NEW', 11],
    ['SOMETHING_ELSE', 1],
  ];
  for (const [code, status] of cases) assert.equal(exitCodeFor(code), status, code);
  assert.deepEqual([EXIT.OK, EXIT.USAGE, EXIT.SILENT, EXIT.PASSWORD, EXIT.AGENT], [0, 2, 5, 8, 11]);
});

test('the help text lists 0..11 in order', () => {
  const codes = [...EXIT_CODES_HELP.matchAll(/^ +(\d+) {2}\S/gm)].map((m) => Number(m[1]));
  assert.deepEqual(codes, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
});

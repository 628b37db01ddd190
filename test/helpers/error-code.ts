/**
 * The stable code of the TumblerError `fn` throws, or `passed` when it returns: tests assert codes,
 * never message text. Anything thrown that is not a TumblerError fails the test on the spot.
 */
import assert from 'node:assert/strict';
import { isTumblerError } from '../../shared/errors.js';

export function codeOf(fn: () => unknown, passed = 'ACCEPTED'): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isTumblerError(e), String(e));
    return e.code;
  }
  return passed;
}

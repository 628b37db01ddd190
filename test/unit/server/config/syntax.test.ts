/** TOML syntax errors name the usual mistake (and the parser's own words otherwise), on the line smol-toml stopped at. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../../server/config/parse.js';
import { isTumblerError } from '../../../../shared/errors.js';

/** The CONFIG_SYNTAX message for `text`, checked to start with "t.toml:<line>:". */
function syntax(text: string, line: number): string {
  try {
    parseConfig(text, 't.toml');
  } catch (e) {
    assert.ok(isTumblerError(e, 'CONFIG_SYNTAX'), String(e));
    assert.ok(e.message.startsWith(`t.toml:${line}: `), e.message);
    return e.message;
  }
  throw new Error('accepted');
}

test('an unclosed table header is named as such (not "illegal character in key")', () => {
  const m = syntax('[server\ninterfaces = ["eth0"]\n', 1);
  assert.match(m, /table header "\[server" is not closed: end it with "\]"/);
  assert.doesNotMatch(m, /illegal character/);
  assert.match(syntax('[[services]\n', 1), /not closed: end it with "\]\]"/);
});

test('unclosed strings, lists and tables; missing values and keys; bare words; duplicates; trailing text', () => {
  assert.match(syntax('[server]\nuser = "tumbler\n', 2), /string for "user" is not closed: end it with "/);
  assert.match(syntax('[server]\ninterfaces = ["eth0"\n', 3), /list \[…\] is not closed with "\]", or its items lack a comma/);
  assert.match(syntax('[server]\nuser =\n', 2), /"user" has no value after "="/);
  assert.match(syntax('[server]\nuser = tumbler\n', 2), /value of "user" is not valid TOML .*text needs quotes/);
  assert.match(syntax('[server]\n= 3\n', 2), /a key is missing before "="/);
  assert.match(syntax('[knock]\ngrace = 1\ngrace = 2\n', 3), /"grace" is defined twice/);
  assert.match(syntax('[knock]\ngrace = 1 2\n', 2), /unexpected text after the value/);
  assert.match(syntax('[server]]\n', 1), /unexpected text after the table header/);
});

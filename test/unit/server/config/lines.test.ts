/** KeyLines: the line of every key, header and array element of a (valid) TOML text. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'smol-toml';
import { KeyLines } from '../../../../server/config/lines.js';

const TEXT = [
  '# comment [not.a.table] x = 1', //                1
  'top = 1 # trailing', //                           2
  '', //                                             3
  '[server]', //                                     4
  '  interfaces = [ # comment', //                   5
  '    "veth0",', //                                 6
  '    "veth1" ]', //                                7
  'note = """', //                                   8
  '[fake]', //                                       9
  'fake = "\\"""', //                               10
  '"""', //                                          11
  "lit = '''", //                                    12
  "[fake2] '", //                                    13
  "''''", //                                         14
  'a.b . c = "x#y"', //                              15
  '"quoted key".\'lit\' = 2', //                     16
  'when = 1979-05-27 07:32:00Z', //                  17
  '', //                                             18
  '[ services . "ssh" ]', //                         19
  'inline = { id = 1,', //                           20
  '  nested = { deep = [1, 2] },', //                21
  '  last = true }', //                              22
  '[[arr]]', //                                      23
  'x = 1', //                                        24
].join('\r\n');

test('the fixture is valid TOML (the scanner assumes it)', () => {
  assert.doesNotThrow(() => parse(TEXT));
});

test('keys, headers, elements, dotted and quoted keys get their own line', () => {
  const k = KeyLines.scan(TEXT);
  const cases: Array<[readonly (string | number)[], number]> = [
    [['top'], 2],
    [['server'], 4],
    [['server', 'interfaces'], 5],
    [['server', 'interfaces', 0], 6],
    [['server', 'interfaces', 1], 7],
    [['server', 'note'], 8],
    [['server', 'lit'], 12],
    [['server', 'a', 'b', 'c'], 15],
    [['server', 'a'], 15],
    [['server', 'quoted key', 'lit'], 16],
    [['server', 'when'], 17],
    [['services'], 19],
    [['services', 'ssh'], 19],
    [['services', 'ssh', 'inline', 'id'], 20],
    [['services', 'ssh', 'inline', 'nested', 'deep', 1], 21],
    [['services', 'ssh', 'inline', 'last'], 22],
    [['arr', 'x'], 24],
  ];
  for (const [path, line] of cases) assert.equal(k.lineOf(path), line, path.join('.'));
});

test('text inside strings and comments is not taken for keys', () => {
  const k = KeyLines.scan(TEXT);
  assert.equal(k.lineOf(['fake']), 1);
  assert.equal(k.lineOf(['server', 'fake']), 4); // falls back to [server]
  assert.equal(k.lineOf(['fake2']), 1);
  assert.equal(k.lineOf(['not']), 1);
});

test('an unknown path falls back to its nearest recorded ancestor, then line 1', () => {
  const k = KeyLines.scan(TEXT);
  assert.equal(k.lineOf(['services', 'ssh', 'missing']), 19);
  assert.equal(k.lineOf(['nowhere', 'at', 'all']), 1);
  assert.equal(k.lineOf([]), 1);
});

test('unexpected text stops the scan quietly, keeping what was found', () => {
  const k = KeyLines.scan('a = 1\nb = 2\n= broken\nc = 3');
  assert.equal(k.lineOf(['b']), 2);
  assert.equal(k.lineOf(['c']), 1);
});

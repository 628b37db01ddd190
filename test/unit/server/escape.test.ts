/** escapeControl: what reaches a terminal or a text log from the database or the network. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeControl } from '../../../server/escape.js';
import { formatTable } from '../../../server/admin/output.js';
import { createLogger } from '../../../server/log.js';

test('C0, DEL, C1 and the Unicode line separators become escapes; backslashes are doubled; the rest stays', () => {
  assert.equal(escapeControl('alice'), 'alice');
  assert.equal(escapeControl('a\x1b[2Jb'), 'a\\x1b[2Jb');
  assert.equal(escapeControl('\r\n\t\x00\x7f\u009b'), '\\x0d\\x0a\\x09\\x00\\x7f\\x9b');
  assert.equal(escapeControl('\u2028\u2029'), '\\u2028\\u2029');
  assert.equal(escapeControl('a\\x1b'), 'a\\\\x1b', 'a literal backslash cannot fake an escape');
  assert.equal(escapeControl('café ✓'), 'café ✓');
});

test('admin tables and text log lines carry no raw control character', () => {
  const table = formatTable(['USER'], [['evil\x1b]0;t\x07']]);
  assert.doesNotMatch(table.replace(/\n/g, ''), /[\x00-\x1f\x7f-\x9f]/);
  const lines: string[] = [];
  createLogger({ format: 'text', component: 't', perSec: 10, write: (l) => lines.push(l) }).log('info', 'knock.rejected', { user: 'x\ny\x1b' });
  assert.doesNotMatch(lines[0]!, /[\x00-\x1f\x7f-\x9f]/);
});

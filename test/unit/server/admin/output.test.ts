import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable, isoTime } from '../../../../server/admin/output.js';

test('tables pad columns to the widest cell and show empty cells as "-"', () => {
  const t = formatTable(['NAME', 'ENABLED', 'LAST'], [['alice', true, null], ['bob-long', false, 'x']]);
  assert.equal(t, 'NAME      ENABLED  LAST\nalice     yes      -\nbob-long  no       x\n');
});

test('times are ISO 8601 UTC; missing stays null', () => {
  assert.equal(isoTime(0), '1970-01-01T00:00:00.000Z');
  assert.equal(isoTime(null), null);
});

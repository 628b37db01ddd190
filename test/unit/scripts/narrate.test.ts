/** The demo's headings carry ANSI escapes only on a terminal (and not with NO_COLOR). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heading } from '../../../scripts/narrate.js';

test('bold on a terminal; plain when not a terminal or NO_COLOR is set', () => {
  assert.equal(heading('step', { isTTY: true }, {}), '\n\x1b[1m▶ step\x1b[0m\n');
  assert.equal(heading('step', { isTTY: false }, {}), '\n▶ step\n');
  assert.equal(heading('step', {}, {}), '\n▶ step\n');
  assert.equal(heading('step', { isTTY: true }, { NO_COLOR: '1' }), '\n▶ step\n');
});

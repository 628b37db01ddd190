import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSince } from '../../../../server/admin/since.js';

const now = Date.parse('2025-06-01T12:00:00Z');

test('relative ages count back from now', () => {
  assert.equal(parseSince('1h', now), now - 3_600_000);
  assert.equal(parseSince('30m', now), now - 1_800_000);
  assert.equal(parseSince('7d', now), now - 7 * 86_400_000);
  assert.equal(parseSince('45s', now), now - 45_000);
});

test('ISO dates and date-times are absolute', () => {
  assert.equal(parseSince('2025-01-31', now), Date.parse('2025-01-31'));
  assert.equal(parseSince('2025-01-31T10:00:00Z', now), Date.parse('2025-01-31T10:00:00Z'));
});

test('anything else is a usage error', () => {
  for (const bad of ['', 'yesterday', '1y', '-1h', '2025-13-45', '1h; drop']) {
    assert.throws(() => parseSince(bad, now), { code: 'USAGE' });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePassphrase, PASSPHRASE_ALPHABET, PASSPHRASE_BITS } from '../../../../server/admin/passphrase.js';

test('a generated passphrase carries at least 100 bits, in six groups of four unambiguous symbols', () => {
  assert.ok(PASSPHRASE_BITS >= 100);
  assert.equal(new Set(PASSPHRASE_ALPHABET).size, 32);
  const p = generatePassphrase();
  assert.match(p, /^[a-km-np-z2-9]{4}(-[a-km-np-z2-9]{4}){5}$/);
});

test('symbols come from the injected randomness, without bias (5 bits of each byte)', () => {
  const bytes = Buffer.from(Array.from({ length: 24 }, (_, i) => i * 32 + (i % 32)));
  const p = generatePassphrase(() => Buffer.from(bytes));
  assert.equal(p.replace(/-/g, ''), Array.from({ length: 24 }, (_, i) => PASSPHRASE_ALPHABET[i % 32]).join(''));
  assert.notEqual(generatePassphrase(), generatePassphrase());
});

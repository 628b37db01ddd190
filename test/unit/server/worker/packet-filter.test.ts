import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketFilter } from '../../../../server/worker/packet-filter.js';
import { sequenceKey } from '../../../../shared/protocol/sequence.js';
import { WindowLimiter } from '../../../../server/window-limiter.js';

test('only (port, ISN high byte) pairs of live sequences pass', () => {
  const f = new PacketFilter({ first: 40000, last: 40999 });
  f.rebuild([sequenceKey({ ports: [40001, 40002, 40003], tags: [0xaa, 0xbb, 0xcc] })]);
  assert.equal(f.passes(40001, 0xaa000000), true);
  assert.equal(f.passes(40001, 0xaaffffff), true);
  assert.equal(f.passes(40001, 0xab000000), false);
  assert.equal(f.passes(40002, 0xaa000000), false);
  assert.equal(f.passes(39999, 0xaa000000), false);
  assert.equal(f.passes(41000, 0xaa000000), false);
  f.rebuild([]);
  assert.equal(f.passes(40001, 0xaa000000), false);
});

test('window limiter: allowance per window, bounded keys', () => {
  const l = new WindowLimiter(2, 1000, 2);
  assert.equal(l.hit('a', 0), true);
  assert.equal(l.hit('a', 10), true);
  assert.equal(l.hit('a', 20), false);
  assert.equal(l.allowed('a', 30), false);
  assert.equal(l.allowed('a', 1000), true);
  l.hit('b', 0);
  l.hit('c', 0);
  assert.equal(l.size, 2);
});

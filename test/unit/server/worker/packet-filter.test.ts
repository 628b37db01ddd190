import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketFilter } from '../../../../server/worker/packet-filter.js';
import { sequenceKey } from '../../../../shared/protocol/sequence.js';

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

test('a pushed sequence passes at once; keys that do not decode are skipped', () => {
  const f = new PacketFilter({ first: 40000, last: 40999 });
  f.rebuild([]);
  assert.deepEqual(f.addKey(sequenceKey({ ports: [40007, 40008, 40009], tags: [1, 2, 3] })), { ports: [40007, 40008, 40009], tags: [1, 2, 3] });
  assert.equal(f.passes(40008, 0x02000000), true);
  assert.equal(f.addKey(Buffer.alloc(9)), null); // ports 0,0,0: not a sequence
  assert.equal(f.addKey(Buffer.alloc(4)), null);
});

test('only a triple that is exactly a live sequence passes the key check; rebuild replaces the set', () => {
  const f = new PacketFilter({ first: 40000, last: 40999 });
  const live = { ports: [40001, 40002, 40003] as const, tags: [1, 2, 3] as const };
  const other = { ports: [40001, 40002, 40004] as const, tags: [1, 2, 4] as const };
  f.rebuild([sequenceKey(live), sequenceKey(other)]);
  assert.equal(f.hasSequence(sequenceKey(live)), true);
  // Every (port, tag) pair of this mix is live, the triple is not.
  const mixed = { ports: [40001, 40003, 40004] as const, tags: [1, 3, 4] as const };
  assert.equal(f.passes(40001, 0x01000000) && f.passes(40003, 0x03000000) && f.passes(40004, 0x04000000), true);
  assert.equal(f.hasSequence(sequenceKey(mixed)), false);
  f.rebuild([sequenceKey(other)]);
  assert.equal(f.hasSequence(sequenceKey(live)), false);
  f.add(live);
  assert.equal(f.hasSequence(sequenceKey(live)), true);
});

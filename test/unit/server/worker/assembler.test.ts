import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Assembler, type PendingPacket } from '../../../../server/worker/assembler.js';

const pkt = (dstPort: number, isn: number, atMs = 0, srcPort = 40000 + dstPort % 1000): PendingPacket => ({ dstPort, isn, srcPort, dstAddress: '192.0.2.1', atMs });
const limits = { perSource: 8, maxSources: 100, ttlMs: 3000 };

test('three packets in any order assemble into one triple sorted by port', () => {
  const a = new Assembler(limits);
  assert.deepEqual(a.add('s', pkt(300, 3)), []);
  assert.deepEqual(a.add('s', pkt(100, 1)), []);
  const t = a.add('s', pkt(200, 2));
  assert.equal(t.length, 1);
  assert.deepEqual(t[0]!.map((p) => p.dstPort), [100, 200, 300]);
});

test('a duplicate packet adds nothing; packets of other sources never mix', () => {
  const a = new Assembler(limits);
  a.add('s', pkt(100, 1));
  assert.deepEqual(a.add('s', pkt(100, 1)), []);
  a.add('other', pkt(200, 2));
  assert.deepEqual(a.add('s', pkt(300, 3)), []);
  assert.equal(a.packets, 3);
});

test('spoofed extra SYNs: every combination with the newest packet is offered', () => {
  const a = new Assembler(limits);
  a.add('s', pkt(100, 1));
  a.add('s', pkt(150, 99)); // spoof
  a.add('s', pkt(200, 2));
  const t = a.add('s', pkt(300, 3));
  const keys = t.map((x) => x.map((p) => p.dstPort).join(','));
  assert.ok(keys.includes('100,200,300'));
  assert.equal(t.length, 3); // C(3,2)
});

test('bounded per source: the oldest candidate goes; in total: the least recently active source goes', () => {
  const a = new Assembler({ perSource: 4, maxSources: 3, ttlMs: 3000 });
  for (let i = 0; i < 10; i++) a.add('s', pkt(100 + i, i));
  assert.equal(a.packets, 4);
  a.add('b', pkt(1, 1));
  a.add('c', pkt(1, 1));
  a.add('s', pkt(500, 1)); // s becomes most recent
  a.add('d', pkt(1, 1)); // evicts b
  assert.equal(a.sources, 3);
  assert.equal(a.evictedSources, 1);
});

test('expiry: packets older than the TTL are not combined and idle sources are dropped', () => {
  const a = new Assembler(limits);
  a.add('s', pkt(100, 1, 0));
  a.add('s', pkt(200, 2, 1000));
  assert.deepEqual(a.add('s', pkt(300, 3, 3500)), []); // 100 is 3.5 s old
  a.add('x', pkt(1, 1, 10_000));
  assert.equal(a.sources, 1);
  assert.ok(a.expiredSources >= 1);
});

test('consumeWhere removes the matching packets only', () => {
  const a = new Assembler(limits);
  a.add('s', pkt(100, 1));
  a.add('s', pkt(200, 2));
  a.add('s', pkt(250, 7));
  const t = a.add('s', pkt(300, 3)).find((x) => x[1].dstPort === 200 && x[0].dstPort === 100)!;
  a.consumeWhere('s', (q) => t.includes(q));
  assert.equal(a.packets, 1);
});

test('a million junk SYNs from random sources keep memory bounded', () => {
  const a = new Assembler({ perSource: 8, maxSources: 65_536, ttlMs: 3000 });
  for (let i = 0; i < 1_000_000; i++) a.add(`src${i % 200_000}`, pkt(40000 + (i % 4096), i, Math.floor(i / 1000)));
  assert.ok(a.sources <= 65_536);
  assert.ok(a.packets <= 65_536 * 8);
});

/** The monitor's own record of open grants: duplicates, the bound, expiry, syncing with the kernel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_EXPIRY, type Grant } from '../../../../server/monitor/firewall/types.js';
import { GrantBook } from '../../../../server/monitor/grant-book.js';
import { Refusal } from '../../../../server/monitor/verdict.js';

const g = (i: number, ttlSec = 30): Grant => ({ family: 4, address: `198.51.100.${i}`, port: 50000 + i, service: 'ssh', ttlSec });
const refusal = (code: string) => (e: unknown) => e instanceof Refusal && e.code === code;

test('a live grant is a duplicate; an expired one may be opened again', () => {
  const book = new GrantBook();
  book.reserve(g(1), 1_000);
  assert.equal(book.isLive(g(1), 30_999), true);
  assert.throws(() => book.reserve(g(1), 2_000), refusal('MONITOR_DUPLICATE'));
  // Another spelling of the same address is the same grant.
  book.reserve({ family: 6, address: '2001:db8::1', port: 1, service: 'ssh', ttlSec: 5 }, 0);
  assert.throws(() => book.reserve({ family: 6, address: '2001:DB8:0::1', port: 1, service: 'ssh', ttlSec: 5 }, 0), refusal('MONITOR_DUPLICATE'));
  assert.equal(book.isLive(g(1), 31_000), false);
  book.reserve(g(1), 31_000);
  assert.equal(book.size, 2);
});

test('bounded: MONITOR_FULL at the limit, room again once grants expire or close', () => {
  const book = new GrantBook(3);
  for (const i of [1, 2, 3]) book.reserve(g(i, i * 10), 0);
  assert.throws(() => book.reserve(g(4), 0), refusal('MONITOR_FULL'));
  assert.equal(book.size, 3);
  book.reserve(g(4), 10_000); // g(1) expired at 10 s: pruned to make room
  assert.equal(book.size, 3);
  assert.throws(() => book.reserve(g(5), 10_000), refusal('MONITOR_FULL'));
  assert.equal(book.remove(g(2)), true);
  assert.equal(book.remove(g(2)), false);
  book.reserve(g(5), 10_000);
});

test('live(): remaining whole seconds, at least one', () => {
  const book = new GrantBook();
  book.reserve(g(1, 30), 0);
  book.reserve(g(2, 2), 0);
  assert.deepEqual(book.live(1_000).map((x) => x.ttlSec), [29, 1]);
  assert.deepEqual(book.live(1_500).map((x) => x.ttlSec), [28]); // half a second left is no grant to restore
  assert.deepEqual(book.live(10_500).map((x) => [x.port, x.ttlSec]), [[50001, 19]]);
  assert.deepEqual(book.live(30_000), []);
});

test('retain keeps only the listed grants', () => {
  const book = new GrantBook();
  for (const i of [1, 2, 3]) book.reserve(g(i), 0);
  book.retain([{ family: 4, address: '198.51.100.2', port: 50002 }]);
  assert.deepEqual(book.live(0).map((x) => x.port), [50002]);
});

test('dropMissing: only confirmed grants, confirmed before the listing, not expired, and absent from it', () => {
  const book = new GrantBook();
  for (const i of [1, 2, 3, 4, 5]) book.reserve(g(i, i === 4 ? 1 : 30), 0);
  book.confirm(g(1), 100);
  book.confirm(g(2), 100);
  book.confirm(g(3), 600); // confirmed after the listing began: it may not be in it yet
  book.confirm(g(4), 100); // expires at 1 s
  // g(5) is reserved, its kernel write not done yet.
  // The listing at 500 holds g(2) only: g(1) was closed by another tool.
  assert.equal(book.dropMissing([g(2), g(4)], 500), 1);
  assert.deepEqual([1, 2, 3, 4, 5].map((i) => book.isLive(g(i), 500)), [false, true, true, true, true]);
  // At 2 s: g(3), confirmed at 600, is missing now; g(4) expired (not a close); g(5) still unconfirmed.
  assert.equal(book.dropMissing([g(2)], 2_000), 1);
  assert.deepEqual(book.live(2_000).map((x) => x.port).sort(), [50002, 50005]);
});

test('load takes over the kernel grants of ours: known service, a timeout', () => {
  const book = new GrantBook();
  book.load([
    { family: 4, address: '198.51.100.1', port: 50001, service: 'ssh', expiresInSec: 20 },
    { family: 4, address: '198.51.100.2', port: 50002, service: null, expiresInSec: 20 },
    { family: 4, address: '198.51.100.3', port: 50003, service: 'ssh', expiresInSec: NO_EXPIRY },
    { family: 6, address: '2001:db8::4', port: 50004, service: 'ssh', expiresInSec: 0 },
  ], 1_000);
  assert.deepEqual(book.live(1_000).map((x) => [x.address, x.ttlSec]), [['198.51.100.1', 20]]);
  assert.throws(() => book.reserve(g(1), 5_000), refusal('MONITOR_DUPLICATE'));
});

test('tally by service: opened when the kernel takes it, closed before expiry, expired after; a failed open is neither', () => {
  const tally = { opened: {}, closed: {}, expired: {} };
  const book = new GrantBook(10, tally);
  const web = (i: number, ttlSec = 30): Grant => ({ ...g(i, ttlSec), service: 'web' });
  for (const x of [g(1), g(2, 5), g(3), web(4), web(5), g(6)]) book.reserve(x, 0);
  for (const x of [g(1), g(2), g(3), web(4), web(5)]) book.confirm(x, 10);
  book.confirm(g(1), 20); // a second confirm is the same grant
  book.remove(g(6), 30); // its open failed: never in the kernel
  assert.deepEqual(book.openByService(1_000), { ssh: 3, web: 2 });
  book.remove(g(1), 1_000); // closed by the worker
  book.dropMissing([g(2), g(3), web(5)], 2_000); // web(4) deleted by another tool
  book.prune(6_000); // g(2) ran out at 5 s
  book.retain([g(3)], 7_000); // the reconcile of a new worker drops web(5)
  book.reserve(g(3, 1), 31_000); // g(3) ran out at 30 s; the same key opened again
  assert.deepEqual(tally, { opened: { ssh: 3, web: 2 }, closed: { ssh: 1, web: 2 }, expired: { ssh: 2 } });
  assert.deepEqual(book.openByService(31_000), {});
});

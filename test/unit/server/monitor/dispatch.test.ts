/**
 * The monitor's request table on its own (server/monitor/dispatch.ts), against the real nftables
 * backend in a network namespace made here (root): phases (hello once, reconcile until final, then
 * open/close; anything out of phase is an incident), refusals answered and counted while the
 * worker's session goes on, incidents for malformed requests, batches of frames answered in order
 * with their opens in one transaction, firewall failures answered, the restore hook.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createCounters, type MonitorCounters } from '../../../../server/monitor/counters.js';
import { Dispatcher, type Answer } from '../../../../server/monitor/dispatch.js';
import { createFirewall } from '../../../../server/monitor/firewall/backend.js';
import type { FirewallBackend } from '../../../../server/monitor/firewall/types.js';
import { GrantBook } from '../../../../server/monitor/grant-book.js';
import { Incident } from '../../../../server/monitor/verdict.js';
import { inNs, isRoot, NetnsLab } from '../../../helpers/netns.js';
import { CLIENT4, CLIENT6, testConfig } from './firewall/fixtures.js';

const TABLE = 'tmbdsp';
const cfg = testConfig('nftables');
const open = (id: number, o: Record<string, unknown> = {}) => ({ op: 'open', id, family: 4, address: CLIENT4, port: 50000 + id, service: 'ssh', ttl: 30, ...o });
const close = (id: number, port: number) => ({ op: 'close', id, family: 4, address: CLIENT4, port });
const hello = (id = 1) => ({ op: 'hello', id, pid: 4242 });
const reconcile = (id: number, final: boolean, keep: unknown[] = []) => ({ op: 'reconcile', id, keep, final });

describe('Dispatcher (root, nftables in a namespace)', { skip: !isRoot && 'needs root' }, () => {
  let lab: NetnsLab;
  let fw: FirewallBackend;
  let book: GrantBook;
  let counters: MonitorCounters;
  const nft = (...args: string[]): string => lab.must(ns, ['nft', ...args]);
  let ns = '';
  const ports = async (): Promise<number[]> => (await fw.list()).map((g) => g.port).sort((a, b) => a - b);
  const dispatcher = (o: { restore?: () => Promise<void>; max?: number } = {}): Dispatcher => {
    if (o.max) book = new GrantBook(o.max);
    return new Dispatcher({ config: cfg, firewall: fw, book, counters, ...(o.restore && { restoreFirewall: o.restore }) });
  };
  /** A dispatcher past hello and a final empty reconcile. */
  const serving = async (o: { restore?: () => Promise<void>; max?: number } = {}): Promise<Dispatcher> => {
    const d = dispatcher(o);
    await d.handle(hello());
    await d.handle(reconcile(2, true));
    return d;
  };
  const incidentOf = async (d: Dispatcher, frame: unknown): Promise<string> => {
    try {
      await d.handle(frame);
    } catch (e) {
      assert.ok(e instanceof Incident, String(e));
      return e.code;
    }
    return 'ANSWERED';
  };

  before(async () => {
    lab = new NetnsLab('mods');
    ns = lab.addNamespace('srv');
    fw = createFirewall(cfg, { table: TABLE, commandPrefix: inNs(ns) });
    await fw.install();
  });
  beforeEach(async () => {
    book = new GrantBook();
    counters = createCounters();
    await fw.install();
    await fw.reconcile([]);
  });
  after(async () => {
    await fw?.dispose().catch(() => {});
    lab?.cleanup();
  });

  test('phases: hello, then reconcile frames until final, then open and close', async () => {
    const d = dispatcher();
    assert.equal(d.phase, 'hello');
    assert.deepEqual(await d.handle(hello()), { id: 1, ok: true });
    assert.equal(d.phase, 'reconcile');
    assert.deepEqual(await d.handle(reconcile(2, false)), { id: 2, ok: true });
    assert.deepEqual(await d.handle(reconcile(3, true)), { id: 3, ok: true, result: { removed: 0 } });
    assert.equal(d.phase, 'serve');
    assert.deepEqual(await d.handle(open(4)), { id: 4, ok: true });
    assert.deepEqual(await d.handle(close(5, 50004)), { id: 5, ok: true });
    assert.deepEqual(counters.requests, { hello: 1, reconcile: 2, open: 1, close: 1 });
  });

  test('out of phase is an incident (IPC_ORDER), whatever the op', async () => {
    const before = [open(1), close(1, 50001), reconcile(1, true)];
    for (const f of before) assert.equal(await incidentOf(dispatcher(), f), 'IPC_ORDER', JSON.stringify(f));
    const inReconcile = async (f: unknown): Promise<string> => {
      const d = dispatcher();
      await d.handle(hello());
      await d.handle(reconcile(2, false));
      return incidentOf(d, f);
    };
    for (const f of [hello(3), open(3), close(3, 50001)]) assert.equal(await inReconcile(f), 'IPC_ORDER', JSON.stringify(f));
    for (const f of [hello(3), reconcile(3, false), reconcile(3, true)]) assert.equal(await incidentOf(await serving(), f), 'IPC_ORDER', JSON.stringify(f));
    assert.deepEqual(await ports(), []);
  });

  test('malformed requests are incidents; list is no longer in the vocabulary', async () => {
    const d = await serving();
    assert.equal(await incidentOf(d, { op: 'list', id: 3 }), 'IPC_UNKNOWN_OP');
    assert.equal(await incidentOf(d, { ...open(3), table: 'filter' }), 'IPC_BAD_SHAPE');
    assert.equal(await incidentOf(d, open(3, { address: 'host.example' })), 'MONITOR_ADDRESS_SYNTAX');
    assert.equal(await incidentOf(d, open(3, { family: 6 })), 'MONITOR_ADDRESS_SYNTAX');
    assert.equal(await incidentOf(d, 'open'), 'IPC_BAD_SHAPE');
    assert.deepEqual(await ports(), []);
  });

  test('refusals are answered and counted; the session goes on; nothing reaches the kernel', async () => {
    const d = await serving();
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ address: '127.0.0.1' }, 'MONITOR_ADDRESS_REFUSED'],
      [{ address: '0.1.2.3' }, 'MONITOR_ADDRESS_REFUSED'],
      [{ family: 6, address: '::ffff:198.51.100.2' }, 'MONITOR_ADDRESS_REFUSED'],
      [{ port: 22 }, 'MONITOR_PORT_RANGE'],
      [{ service: 'db' }, 'MONITOR_UNKNOWN_SERVICE'],
      [{ family: 6, address: CLIENT6, service: 'web' }, 'MONITOR_FAMILY'],
      [{ ttl: 86_400 }, 'MONITOR_TTL'],
    ];
    let id = 10;
    for (const [o, code] of refused) assert.deepEqual(await d.handle(open(++id, o)), { id, ok: false, code }, code);
    assert.deepEqual(await ports(), []);
    // A duplicate of a live grant is refused too; the first stays.
    assert.deepEqual(await d.handle(open(1)), { id: 1, ok: true });
    assert.deepEqual(await d.handle(open(2, { port: 50001, ttl: 60 })), { id: 2, ok: false, code: 'MONITOR_DUPLICATE' });
    assert.deepEqual(await ports(), [50001]);
    assert.deepEqual(counters.refusals, {
      MONITOR_ADDRESS_REFUSED: 3, MONITOR_PORT_RANGE: 1, MONITOR_UNKNOWN_SERVICE: 1, MONITOR_FAMILY: 1, MONITOR_TTL: 1, MONITOR_DUPLICATE: 1,
    });
    assert.equal(d.phase, 'serve');
  });

  test('bounded: MONITOR_FULL once the record holds its maximum; a close makes room', async () => {
    const d = await serving({ max: 2 });
    assert.deepEqual(await d.handle(open(1)), { id: 1, ok: true });
    assert.deepEqual(await d.handle(open(2)), { id: 2, ok: true });
    assert.deepEqual(await d.handle(open(3)), { id: 3, ok: false, code: 'MONITOR_FULL' });
    assert.deepEqual(await d.handle(close(4, 50001)), { id: 4, ok: true });
    assert.deepEqual(await d.handle(open(5)), { id: 5, ok: true });
    assert.deepEqual(await ports(), [50002, 50005]);
  });

  test('a batch: answers in request order, opens in one transaction, a close between them, the incident last', async () => {
    const d = await serving();
    const { answers, incident } = await d.handleMany([
      open(11), open(12), open(13, { port: 22 }), close(14, 50011), open(15), open(16), { op: 'exec', id: 17 }, open(18),
    ]);
    assert.deepEqual(answers, [
      { id: 11, ok: true }, { id: 12, ok: true }, { id: 13, ok: false, code: 'MONITOR_PORT_RANGE' }, { id: 14, ok: true }, { id: 15, ok: true }, { id: 16, ok: true },
    ] satisfies Answer[]);
    assert.equal(incident?.code, 'IPC_UNKNOWN_OP');
    assert.deepEqual(await ports(), [50012, 50015, 50016]); // 18 came after the incident: never run
  });

  test('a batch whose transaction fails falls back to one by one: every grant still answered rightly', async () => {
    // A kernel element this monitor does not know (an admin's break-glass grant), same key, other target.
    await fw.open({ family: 4, address: CLIENT4, port: 50022, service: 'web', ttlSec: 30 });
    const d = await serving();
    const { answers } = await d.handleMany([open(21), open(22), open(23)]);
    assert.deepEqual(answers, [{ id: 21, ok: true }, { id: 22, ok: true }, { id: 23, ok: true }]);
    assert.equal((await fw.list()).find((g) => g.port === 50022)?.service, 'ssh');
  });

  test('reconcile keeps the listed grants (re-checked), drops the rest from the kernel and from the record', async () => {
    let d = await serving();
    for (const id of [1, 2, 3]) await d.handle(open(id));
    d = dispatcher(); // a new worker
    await d.handle(hello());
    const keep = [{ family: 4, address: CLIENT4, port: 50001 }, { family: 4, address: '127.0.0.1', port: 50002 }];
    assert.deepEqual(await d.handle(reconcile(2, false, keep.slice(0, 1))), { id: 2, ok: true });
    assert.deepEqual(await d.handle(reconcile(3, true, keep.slice(1))), { id: 3, ok: true, result: { removed: 2 } });
    assert.deepEqual(await ports(), [50001]);
    assert.equal(counters.refusals.MONITOR_ADDRESS_REFUSED, 1);
    assert.deepEqual(book.live(Date.now()).map((g) => g.port), [50001]);
    assert.deepEqual(await d.handle(open(4, { port: 50002 })), { id: 4, ok: true }); // not a duplicate any more
  });

  test('a firewall failure is answered (not an incident); the record forgets the grant; with the restore hook the open succeeds', async () => {
    let d = await serving();
    nft('delete', 'table', 'inet', TABLE);
    assert.deepEqual(await d.handle(open(1)), { id: 1, ok: false, code: 'FIREWALL_NOT_INSTALLED' });
    assert.equal(counters.failures.FIREWALL_NOT_INSTALLED, 1);
    assert.equal(book.size, 0);
    let restores = 0;
    d = await serving({ restore: async () => { restores++; await fw.install(); } });
    assert.deepEqual(await d.handle(open(2, { port: 50001 })), { id: 2, ok: true });
    assert.equal(restores, 1);
    assert.deepEqual(await ports(), [50001]);
  });
});

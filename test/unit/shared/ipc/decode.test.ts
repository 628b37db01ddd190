/** Exact-shape decoding of monitor requests and answers: every malformed kind gets its code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeRequest, decodeResponse, encodeFrame, FrameDecoder, MAX_KEEP, MAX_REQUEST_ID,
} from '../../../../shared/ipc/index.js';
import { codeOf } from '../../../helpers/error-code.js';

const req = (o: unknown) => codeOf(() => decodeRequest(o));

const VALID = {
  hello: { op: 'hello', id: 1, pid: 4242 },
  open: { op: 'open', id: 2, family: 4, address: '198.51.100.7', port: 50001, service: 'ssh', ttl: 30 },
  close: { op: 'close', id: 3, family: 6, address: '2001:db8::7', port: 50001 },
  reconcile: { op: 'reconcile', id: 5, keep: [{ family: 4, address: '198.51.100.7', port: 50001 }], final: true },
} as const;

test('every op of the vocabulary decodes to itself', () => {
  for (const r of Object.values(VALID)) assert.deepEqual(decodeRequest(structuredClone(r)), r);
  assert.deepEqual(decodeRequest({ op: 'reconcile', id: 6, keep: [], final: false }).op, 'reconcile');
});

test('a request through a frame and back', () => {
  const [obj] = new FrameDecoder().push(encodeFrame(VALID.open));
  assert.deepEqual(decodeRequest(obj), VALID.open);
});

test('IPC_UNKNOWN_OP: an op outside the vocabulary (list is gone from it)', () => {
  for (const op of ['exec', 'OPEN', 'open ', '', '__proto__', 'toString', 'constructor', 'list']) {
    assert.equal(req({ ...VALID.hello, op }), 'IPC_UNKNOWN_OP', op);
  }
  assert.equal(req({ op: 'list', id: 4 }), 'IPC_UNKNOWN_OP');
  assert.equal(req({ op: 'list', id: 4, offset: 24 }), 'IPC_UNKNOWN_OP');
});

test('IPC_BAD_SHAPE: not an object, or no op', () => {
  for (const v of [null, 1, 'open', [], [VALID.hello], true]) assert.equal(req(v), 'IPC_BAD_SHAPE', JSON.stringify(v));
  assert.equal(req({ id: 1 }), 'IPC_BAD_SHAPE');
  assert.equal(req({ op: 1, id: 1 }), 'IPC_BAD_SHAPE');
  assert.equal(req({ op: ['list'], id: 1 }), 'IPC_BAD_SHAPE');
});

test('IPC_BAD_SHAPE: an extra field, in every op and inside keep', () => {
  for (const r of Object.values(VALID)) assert.equal(req({ ...r, extra: 1 }), 'IPC_BAD_SHAPE', r.op);
  assert.equal(req({ ...VALID.open, result: undefined, ok: true }), 'IPC_BAD_SHAPE');
  assert.equal(req({ ...VALID.reconcile, keep: [{ ...VALID.reconcile.keep[0], service: 'ssh' }] }), 'IPC_BAD_SHAPE');
  // "__proto__" arrives from JSON.parse as an own key: still an extra field.
  assert.equal(req(JSON.parse('{"op":"hello","id":1,"pid":7,"__proto__":{"x":1}}')), 'IPC_BAD_SHAPE');
});

test('IPC_BAD_SHAPE: each missing field', () => {
  for (const r of Object.values(VALID)) {
    for (const key of Object.keys(r)) {
      if (key === 'op') continue;
      const copy: Record<string, unknown> = { ...r };
      delete copy[key];
      assert.equal(req(copy), 'IPC_BAD_SHAPE', `${r.op} without ${key}`);
    }
  }
  assert.equal(req({ ...VALID.reconcile, keep: [{ family: 4, address: '198.51.100.7' }] }), 'IPC_BAD_SHAPE');
});

test('IPC_BAD_SHAPE: wrong types and sizes', () => {
  const wrong: Array<[string, unknown]> = [
    ['id', '1'], ['id', 0], ['id', -1], ['id', 1.5], ['id', MAX_REQUEST_ID + 1], ['id', null],
    ['family', 5], ['family', '4'], ['family', 0],
    ['address', 4], ['address', ''], ['address', 'a'.repeat(46)], ['address', ['198.51.100.7']],
    ['port', '50001'], ['port', 65536], ['port', -1], ['port', 50001.5],
    ['service', 1], ['service', ''], ['service', 's'.repeat(33)],
    ['ttl', '30'], ['ttl', -1], ['ttl', 1.5], ['ttl', 2 ** 32], ['ttl', null],
  ];
  for (const [key, value] of wrong) assert.equal(req({ ...VALID.open, [key]: value }), 'IPC_BAD_SHAPE', `${key}=${JSON.stringify(value)}`);
  assert.equal(req({ ...VALID.hello, pid: 0 }), 'IPC_BAD_SHAPE');
  assert.equal(req({ ...VALID.hello, pid: '1' }), 'IPC_BAD_SHAPE');
  assert.equal(req({ ...VALID.reconcile, final: 'true' }), 'IPC_BAD_SHAPE');
  assert.equal(req({ ...VALID.reconcile, final: 1 }), 'IPC_BAD_SHAPE');
  assert.equal(req({ ...VALID.reconcile, keep: {} }), 'IPC_BAD_SHAPE');
  assert.equal(req({ ...VALID.reconcile, keep: [null] }), 'IPC_BAD_SHAPE');
  assert.equal(req({ ...VALID.reconcile, keep: [{ family: 4, address: '198.51.100.7', port: '1' }] }), 'IPC_BAD_SHAPE');
});

test('id bounds are inclusive: 1 and 2^31', () => {
  assert.equal(req({ ...VALID.hello, id: 1 }), 'ACCEPTED');
  assert.equal(req({ ...VALID.hello, id: MAX_REQUEST_ID }), 'ACCEPTED');
});

/** Worst-case entries: the longest address text admitted (45), the longest service name, the largest numbers. */
const LONG_V6 = 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255';
const worstKey = { family: 6 as const, address: LONG_V6, port: 65535 };

test(`keep: ${MAX_KEEP} worst-case entries fit one frame; one more is IPC_BAD_SHAPE`, () => {
  const full = { op: 'reconcile', id: MAX_REQUEST_ID, keep: Array(MAX_KEEP).fill(worstKey), final: false };
  const [obj] = new FrameDecoder().push(encodeFrame(full));
  assert.deepEqual(decodeRequest(obj), full);
  assert.equal(req({ ...full, keep: Array(MAX_KEEP + 1).fill(worstKey) }), 'IPC_BAD_SHAPE');
});

// ---- answers ----

const res = (o: unknown, op?: Parameters<typeof decodeResponse>[1]) => codeOf(() => decodeResponse(o, op));

test('answers: ok with and without result, and errors', () => {
  assert.deepEqual(decodeResponse({ id: 1, ok: true }), { id: 1, ok: true });
  assert.deepEqual(decodeResponse({ id: 2, ok: false, code: 'MONITOR_FIREWALL' }), { id: 2, ok: false, code: 'MONITOR_FIREWALL' });
  assert.deepEqual(decodeResponse({ id: 4, ok: true, result: { removed: 2 } }), { id: 4, ok: true, result: { removed: 2 } });
  assert.equal(res({ id: 4, ok: true }, 'reconcile'), 'ACCEPTED');
  assert.equal(res({ id: 1, ok: true }, 'open'), 'ACCEPTED');
});

test('answers: malformed → IPC_BAD_SHAPE', () => {
  const bad: unknown[] = [
    null, [], 'ok',
    { id: 1 }, // no ok
    { id: 1, ok: 'true' },
    { ok: true }, // no id
    { id: 0, ok: true },
    { id: 1, ok: true, extra: 1 },
    { id: 1, ok: false }, // no code
    { id: 1, ok: false, code: 'monitor failed: rm -rf' }, // free text is not a code
    { id: 1, ok: false, code: 'A'.repeat(65) },
    { id: 1, ok: false, code: 'X', result: [] },
    { id: 1, ok: true, code: 'X' },
    { id: 1, ok: true, result: 'done' },
    { id: 1, ok: true, result: null },
    { id: 1, ok: true, result: [] }, // list pages are gone with the list request
    { id: 1, ok: true, result: [{ family: 4, address: '198.51.100.7', port: 50001, service: 'ssh', expiresInSec: 12 }] },
    { id: 1, ok: true, result: { removed: 1, extra: 1 } },
    { id: 1, ok: true, result: { removed: -1 } },
  ];
  for (const o of bad) assert.equal(res(o), 'IPC_BAD_SHAPE', JSON.stringify(o));
});

test('answers: with the request op, only that op\'s result is accepted', () => {
  assert.equal(res({ id: 1, ok: true, result: [] }, 'open'), 'IPC_BAD_SHAPE');
  assert.equal(res({ id: 1, ok: true, result: { removed: 1 } }, 'open'), 'IPC_BAD_SHAPE');
  assert.equal(res({ id: 1, ok: true, result: { removed: 1 } }, 'close'), 'IPC_BAD_SHAPE');
  assert.equal(res({ id: 1, ok: true, result: [] }, 'reconcile'), 'IPC_BAD_SHAPE');
  assert.equal(res({ id: 1, ok: true, result: { removed: 0 } }, 'hello'), 'IPC_BAD_SHAPE');
  assert.equal(res({ id: 1, ok: false, code: 'MONITOR_TTL' }, 'open'), 'ACCEPTED');
});

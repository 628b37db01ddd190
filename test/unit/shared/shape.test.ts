/** The strict-shape validator: exact objects, typed values, the path of the first problem. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arrayOf, bool, checkShape, finite, int, isPlainObject, map, object, oneOf, recordOf, refine, ShapeError, text, type Shape } from '../../../shared/shape.js';

/** Null when `v` has the shape, else the problem (a ShapeError, nothing else). */
function shapeProblem(shape: Shape<unknown>, v: unknown): string | null {
  try { checkShape(shape, v); } catch (e) { assert.ok(e instanceof ShapeError); return e.message; }
  return null;
}

const doc = object({ v: oneOf([2]), name: text({ re: /^[a-z]+$/ }), ports: arrayOf(int(1, 65535), 1, 3) }, { on: bool, tags: recordOf(/^[a-z]+$/, int(0, 9), 0, 4) });

test('a valid document comes back typed; optional keys may be absent', () => {
  assert.deepEqual(checkShape(doc, { v: 2, name: 'abc', ports: [1, 2] }), { v: 2, name: 'abc', ports: [1, 2] });
  assert.deepEqual(checkShape(doc, { v: 2, name: 'abc', ports: [1], on: true, tags: { a: 1 } }), { v: 2, name: 'abc', ports: [1], on: true, tags: { a: 1 } });
});

test('the first problem is named with its path: missing, extra, wrong type, out of range, nested', () => {
  const problem = (v: unknown): string => shapeProblem(doc, v) ?? 'accepted';
  assert.match(problem({ v: 2, ports: [1] }), /^name: is missing/);
  assert.match(problem({ v: 2, name: 'a', ports: [1], extra: 1 }), /^extra: is not an expected field/);
  assert.match(problem({ v: 3, name: 'a', ports: [1] }), /^v: must be one of 2/);
  assert.match(problem({ v: 2, name: 'a', ports: [1, 70000] }), /^ports\[1\]: must be an integer/);
  assert.match(problem({ v: 2, name: 'a', ports: [] }), /^ports: must be a list of 1\.\.3/);
  assert.match(problem({ v: 2, name: 'a', ports: [1], tags: { A: 1 } }), /^tags\.A: is not an allowed name/);
  assert.match(problem({ v: 2, name: 'a', ports: [1], on: 'yes' }), /^on: must be true or false/);
  assert.match(problem([]), /must be an object/);
  assert.match(problem(null), /must be an object/);
});

test('only plain objects: a class instance or an object with another prototype is refused; a "__proto__" key is just a key', () => {
  assert.equal(isPlainObject(new Date()), false);
  assert.equal(isPlainObject(Object.create({ v: 2 })), false);
  assert.equal(isPlainObject(Object.create(null)), true);
  const polluted = JSON.parse('{"v":2,"name":"a","ports":[1],"__proto__":{"x":1}}') as unknown;
  assert.match(shapeProblem(doc, polluted) ?? '', /__proto__: is not an expected field/);
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

test('refine and map add rules and conversions', () => {
  const even = refine(int(0, 100), (n) => (n % 2 === 0 ? null : 'must be even'));
  assert.equal(shapeProblem(even, 4), null);
  assert.match(shapeProblem(even, 3) ?? '', /must be even/);
  const hex = map(text(), (s) => { if (!/^[0-9a-f]+$/.test(s)) throw new Error('x'); return Buffer.from(s, 'hex'); }, 'must be hex');
  assert.deepEqual(checkShape(hex, 'ff'), Buffer.from([0xff]));
  assert.match(shapeProblem(hex, 'zz') ?? '', /must be hex/);
});

test('finite: a number in range, never NaN, Infinity or a string', () => {
  const f = finite(0, 10);
  assert.equal(checkShape(f, 2.5), 2.5);
  assert.equal(checkShape(f, 0), 0);
  for (const bad of [NaN, Infinity, -Infinity, -0.1, 10.5, '1', null]) assert.throws(() => checkShape(f, bad), ShapeError);
});

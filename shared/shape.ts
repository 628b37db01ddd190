/**
 * Strict shapes for parsed JSON (client profiles, enrollment bundles; written so that the monitor
 * IPC decoder can use it too): a document is checked against a Shape, which returns the value
 * typed or throws a ShapeError naming the first problem and where it is ("gateways[1][0]").
 * Objects are exact: a missing required key, an extra key or a non-plain object is a problem.
 * The caller turns a ShapeError into its own error code (PROFILE_CORRUPT, BUNDLE_INVALID, ...).
 * No I/O, no imports: cheap to load anywhere.
 */

export class ShapeError extends Error {
  constructor(readonly path: string, readonly problem: string) {
    super(`${path || 'document'}: ${problem}`);
    this.name = 'ShapeError';
  }
}

/** Checks `v` (found at `path`) and returns it typed; throws ShapeError. */
export type Shape<T> = (v: unknown, path: string) => T;

export type ShapeOf<S> = S extends Shape<infer T> ? T : never;
type Fields = Readonly<Record<string, Shape<unknown>>>;
type Required<R extends Fields> = { [K in keyof R]: ShapeOf<R[K]> };
type Optional<O extends Fields> = { [K in keyof O]?: ShapeOf<O[K]> };

const at = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;

/** A JSON object: not null, not an array, built by JSON.parse or an object literal. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** An integer (a safe one) in [min, max]. */
export function int(min: number, max: number): Shape<number> {
  return (v, path) => {
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) throw new ShapeError(path, `must be an integer in ${min}..${max}`);
    return v as number;
  };
}

/** A finite number (not NaN, not ±Infinity) in [min, max]. */
export function finite(min: number, max: number): Shape<number> {
  return (v, path) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new ShapeError(path, `must be a number in ${min}..${max}`);
    return v;
  };
}

/** A string of 1..maxChars characters (UTF-16 units; limits are about size), matching `re` when given. */
export function text(o: { re?: RegExp; maxChars?: number; minChars?: number; what?: string } = {}): Shape<string> {
  const min = o.minChars ?? 1;
  const max = o.maxChars ?? 4096;
  return (v, path) => {
    if (typeof v !== 'string' || v.length < min || v.length > max || (o.re !== undefined && !o.re.test(v))) {
      throw new ShapeError(path, `must be ${o.what ?? `a string of ${min}..${max} characters`}`);
    }
    return v;
  };
}

export const bool: Shape<boolean> = (v, path) => {
  if (typeof v !== 'boolean') throw new ShapeError(path, 'must be true or false');
  return v;
};

/** Exactly one of `values` (compared with ===). */
export function oneOf<const T extends string | number | boolean>(values: readonly T[]): Shape<T> {
  return (v, path) => {
    if (!values.includes(v as T)) throw new ShapeError(path, `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
    return v as T;
  };
}

/** An array of min..max items, each of `item`. */
export function arrayOf<T>(item: Shape<T>, min: number, max: number): Shape<T[]> {
  return (v, path) => {
    if (!Array.isArray(v) || v.length < min || v.length > max) throw new ShapeError(path, `must be a list of ${min}..${max} items`);
    return v.map((x, i) => item(x, at(path, i)));
  };
}

/** An exact object: every required key present, optional keys allowed, nothing else. */
export function object<R extends Fields, O extends Fields = Record<never, Shape<unknown>>>(required: R, optional?: O): Shape<Required<R> & Optional<O>> {
  const opt: Fields = optional ?? {};
  return (v, path) => {
    if (!isPlainObject(v)) throw new ShapeError(path, 'must be an object');
    for (const key of Object.keys(v)) {
      if (!Object.hasOwn(required, key) && !Object.hasOwn(opt, key)) throw new ShapeError(at(path, key), 'is not an expected field');
    }
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(required)) {
      if (!Object.hasOwn(v, key)) throw new ShapeError(at(path, key), 'is missing');
      out[key] = check(v[key], at(path, key));
    }
    for (const [key, check] of Object.entries(opt)) {
      if (Object.hasOwn(v, key)) out[key] = check(v[key], at(path, key));
    }
    return out as Required<R> & Optional<O>;
  };
}

/** An object used as a map: min..max entries, every key matching `key`, every value of `value`. */
export function recordOf<T>(key: RegExp, value: Shape<T>, min: number, max: number): Shape<Record<string, T>> {
  return (v, path) => {
    if (!isPlainObject(v)) throw new ShapeError(path, 'must be an object');
    const entries = Object.entries(v);
    if (entries.length < min || entries.length > max) throw new ShapeError(path, `must have ${min}..${max} entries`);
    const out: Record<string, T> = {};
    for (const [k, x] of entries) {
      if (!key.test(k)) throw new ShapeError(at(path, k), 'is not an allowed name');
      out[k] = value(x, at(path, k));
    }
    return out;
  };
}

/** `shape`, then a further rule on its value: `rule` returns a problem or null. */
export function refine<T>(shape: Shape<T>, rule: (v: T) => string | null): Shape<T> {
  return (v, path) => {
    const value = shape(v, path);
    const problem = rule(value);
    if (problem !== null) throw new ShapeError(path, problem);
    return value;
  };
}

/** `shape`'s value converted by `to` (which may throw ShapeError-free errors: they become problems). */
export function map<T, U>(shape: Shape<T>, to: (v: T) => U, problem: string): Shape<U> {
  return (v, path) => {
    const value = shape(v, path);
    try {
      return to(value);
    } catch {
      throw new ShapeError(path, problem);
    }
  };
}

/** The checked value, or ShapeError. */
export function checkShape<T>(shape: Shape<T>, v: unknown): T {
  return shape(v, '');
}

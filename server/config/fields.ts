/**
 * Strict reading of one TOML table at a time, and the value checkers the sections use.
 *
 * Every failure is a TumblerError whose message starts with "file:line: " (the line of the
 * offending key, or of its table when the key is missing) and says what is wrong and what is
 * allowed. Values are quoted back, shortened: the config holds no secrets.
 */
import { TumblerError } from '../../shared/errors.js';
import { classifyIp, hostBitsZero, parseIp, type IpAddress, type IpFamily } from './address.js';
import type { KeyLines, KeyPath } from './lines.js';
import { MAX_PORT, MIN_RANGE_PORT } from './limits.js';
import type { PortRange, ServiceTarget } from './types.js';

/** Where errors point: the file name and the key lines of its text. */
export class Source {
  constructor(
    readonly file: string,
    readonly lines: KeyLines,
  ) {}

  fail(code: string, path: KeyPath, what: string): never {
    throw new TumblerError(code, `${this.file}:${this.lines.lineOf(path)}: ${what}`);
  }
}

/** One value at `path`, with a way to reject it (CONFIG_BAD_VALUE unless told otherwise). */
export class Field {
  constructor(
    readonly src: Source,
    readonly path: KeyPath,
  ) {}

  get name(): string {
    return dotted(this.path);
  }

  at(index: number): Field {
    return new Field(this.src, [...this.path, index]);
  }

  bad(what: string, code = 'CONFIG_BAD_VALUE'): never {
    return this.src.fail(code, this.path, `${this.name}: ${what}`);
  }
}

export type Check<T> = (value: unknown, field: Field) => T;

/** A TOML table whose keys are all known; values are read by key with a checker. */
export class Table {
  private constructor(
    private readonly values: Record<string, unknown>,
    readonly field: Field,
  ) {}

  /**
   * Open the table `value` found at `field`. Absent (undefined) reads as empty, so its required
   * keys report CONFIG_MISSING; a non-table is CONFIG_BAD_VALUE; an unknown key is CONFIG_UNKNOWN_KEY.
   */
  static open(value: unknown, field: Field, allowed: readonly string[]): Table {
    const table = value === undefined ? {} : asTable(value, field);
    const unknown = Object.keys(table).find((k) => !allowed.includes(k));
    if (unknown !== undefined) {
      const place = field.path.length === 0 ? 'at the top level' : `in [${field.name}]`;
      field.src.fail(
        'CONFIG_UNKNOWN_KEY',
        [...field.path, unknown],
        `unknown key ${quote(unknown)} ${place}; allowed: ${allowed.join(', ')}`,
      );
    }
    return new Table(table, field);
  }

  /** The sub-table at `key` (empty when absent). */
  table(key: string, allowed: readonly string[]): Table {
    return Table.open(this.raw(key), this.child(key), allowed);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.values, key);
  }

  raw(key: string): unknown {
    return this.has(key) ? this.values[key] : undefined;
  }

  child(key: string): Field {
    return new Field(this.field.src, [...this.field.path, key]);
  }

  required<T>(key: string, check: Check<T>, meaning: string): T {
    if (!this.has(key)) {
      const where = this.field.path.length === 0 ? 'the file' : `[${this.field.name}]`;
      this.field.src.fail('CONFIG_MISSING', [...this.field.path, key], `${where} is missing ${key} (${meaning})`);
    }
    return check(this.values[key], this.child(key));
  }

  optional<T>(key: string, check: Check<T>, fallback: T): T {
    return this.has(key) ? check(this.values[key], this.child(key)) : fallback;
  }
}

// ---- checkers ----

export function asTable(value: unknown, field: Field): Record<string, unknown> {
  if (tomlType(value) !== 'a table') {
    field.bad(`expected a table, found ${tomlType(value)}`);
  }
  return value as Record<string, unknown>;
}

export function str(value: unknown, field: Field): string {
  if (typeof value !== 'string') field.bad(`expected a string, found ${tomlType(value)}`);
  return value;
}

export function integer(min: number, max: number, unit?: string): Check<number> {
  return (value: unknown, field: Field) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      field.bad(`expected an integer${unit ? ` (${unit})` : ''}, found ${tomlType(value)}`);
    }
    if (value < min || value > max) field.bad(`${value} is out of range; allowed ${min}..${max}${unit ? ` ${unit}` : ''}`);
    return value;
  };
}

export function oneOf<T extends string>(allowed: readonly T[]): Check<T> {
  return (value: unknown, field: Field) => {
    const s = str(value, field);
    if (!(allowed as readonly string[]).includes(s)) field.bad(`${quote(s)} is not allowed; use one of: ${allowed.join(', ')}`);
    return s as T;
  };
}

export function matching(pattern: RegExp, what: string): Check<string> {
  return (value: unknown, field: Field) => {
    const s = str(value, field);
    if (!pattern.test(s)) field.bad(`${quote(s)} is not ${what}`);
    return s;
  };
}

/** An array of items, each checked; `minItems` and no duplicates (after checking). */
export function list<T>(each: Check<T>, minItems: number): Check<T[]> {
  return (value: unknown, field: Field) => {
    if (!Array.isArray(value)) field.bad(`expected an array, found ${tomlType(value)}`);
    if (value.length < minItems) field.bad(`needs at least ${minItems} entr${minItems === 1 ? 'y' : 'ies'}`);
    const out: T[] = [];
    value.forEach((v, i) => {
      const item = each(v, field.at(i));
      if (out.includes(item)) field.at(i).bad(`${quote(String(item))} is listed twice`);
      out.push(item);
    });
    return out;
  };
}

/** "A-B" with MIN_RANGE_PORT <= A <= B <= MAX_PORT and a size within [minSize, maxSize]. */
export function portRange(minSize: number, maxSize: number): Check<PortRange> {
  return (value: unknown, field: Field) => {
    const s = str(value, field);
    const m = /^([1-9][0-9]{0,4})-([1-9][0-9]{0,4})$/.exec(s);
    const allowed = `write "A-B" with ${MIN_RANGE_PORT} <= A <= B <= ${MAX_PORT}`;
    if (!m) field.bad(`${quote(s)} is not a port range; ${allowed}`);
    const first = Number(m[1]);
    const last = Number(m[2]);
    if (first < MIN_RANGE_PORT || last > MAX_PORT || first > last) field.bad(`${quote(s)} is out of range; ${allowed}`);
    const size = last - first + 1;
    if (size < minSize || size > maxSize) {
      const limit = maxSize === Infinity ? `at least ${minSize}` : `${minSize}..${maxSize}`;
      field.bad(`${quote(s)} has ${size} ports; allowed ${limit}`);
    }
    return { first, last };
  };
}

/** An address literal of any family that is not unspecified, multicast, broadcast or v4-in-v6. */
export function hostAddress(opts: { loopback: boolean }): Check<IpAddress> {
  return (value: unknown, field: Field) => {
    const s = str(value, field);
    const a = parseIp(s);
    if (!a) field.bad(`${quote(s)} is not an IPv4 or IPv6 address literal (names are not allowed)`);
    const kind = classifyIp(a);
    if (kind !== 'unicast' && !(kind === 'loopback' && opts.loopback)) {
      field.bad(`${quote(s)} is a ${kind} address; a unicast host address is required`);
    }
    return a;
  };
}

/** "a.b.c.d/n" or "v6/n" with host bits zero; a bare address means /32 or /128. Not /0. */
export function cidr(value: unknown, field: Field): string {
  const s = str(value, field);
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const a = parseIp(addrText);
  if (!a) field.bad(`${quote(s)} is not a CIDR prefix such as "203.0.113.0/24" or "2001:db8::/32"`);
  const maxBits = a.family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(maxBits) : s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > maxBits) {
    field.bad(`${quote(s)} has a bad prefix length; allowed 1..${maxBits}`);
  }
  const prefix = Number(prefixText);
  if (prefix === 0) field.bad(`${quote(s)} would let every address past the knock; allowed prefix 1..${maxBits}`);
  if (!hostBitsZero(a, prefix)) field.bad(`${quote(s)} has host bits set after /${prefix}`);
  return `${a.text}/${prefix}`;
}

/** "a.b.c.d:port" (family 4) or "[v6]:port" (family 6), a unicast non-loopback literal. */
export function target(family: IpFamily): Check<ServiceTarget> {
  const form = family === 4 ? '"192.0.2.1:22"' : '"[2001:db8::1]:22"';
  return (value: unknown, field: Field) => {
    const s = str(value, field);
    const m = family === 4 ? /^([0-9.]+):([0-9]{1,5})$/.exec(s) : /^\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5})$/.exec(s);
    const a = m ? parseIp(m[1]!) : null;
    if (!m || !a || a.family !== family) field.bad(`${quote(s)} is not an IPv${family} address and port like ${form}`);
    const port = Number(m[2]);
    if (port < 1 || port > MAX_PORT || m[2]!.startsWith('0')) field.bad(`${quote(s)} has a bad port; allowed 1..${MAX_PORT}`);
    const kind = classifyIp(a);
    if (kind !== 'unicast') field.bad(`${quote(s)} is a ${kind} address; the target must be a unicast, non-loopback host`);
    return { host: a.text, port };
  };
}

// ---- text helpers ----

export function dotted(path: KeyPath): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : (i > 0 ? '.' : '') + (/^[A-Za-z0-9_-]+$/.test(p) ? p : JSON.stringify(p))))
    .join('');
}

/** A value quoted for a message: JSON string syntax, at most 64 characters. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 61)}...` : s);
}

/** The TOML type name of a parsed value, for "expected X, found Y". */
export function tomlType(v: unknown): string {
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a float';
  if (typeof v === 'boolean') return 'a boolean';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date-time';
  if (typeof v === 'object' && v !== null) return 'a table';
  return 'nothing';
}

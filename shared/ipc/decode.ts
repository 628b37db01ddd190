/**
 * Exact-shape decoding of monitor messages (vocabulary: messages.ts). Input is a parsed frame
 * body from FrameDecoder. Checks, in order: a plain object → a known op → exactly the op's fields
 * (none missing, none extra) → each field's JSON type and size. Only the shape is checked here;
 * meaning (address, port range, service, TTL) is the monitor's job: server/monitor/validate.ts.
 * Errors: IPC_UNKNOWN_OP, IPC_BAD_SHAPE. Messages never echo the peer's text.
 */
import { TumblerError } from '../errors.js';
import {
  MAX_ADDRESS_TEXT, MAX_ERROR_CODE, MAX_KEEP, MAX_REQUEST_ID, MAX_SERVICE_NAME, MAX_UINT, MIN_REQUEST_ID,
} from './constants.js';
import type { MonitorRequest, MonitorResponse, RequestOp } from './messages.js';

type Check = (v: unknown) => boolean;

interface Shape {
  readonly required: Readonly<Record<string, Check>>;
  readonly optional?: Readonly<Record<string, Check>>;
}

// ---- field checks ----

const int = (min: number, max: number): Check => (v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const text = (maxLength: number): Check => (v) => typeof v === 'string' && v.length >= 1 && v.length <= maxLength;
const arrayOf = (maxItems: number, shape: Shape): Check => (v) =>
  Array.isArray(v) && v.length <= maxItems && v.every((item) => shapeProblem(item, shape) === null);

const isId = int(MIN_REQUEST_ID, MAX_REQUEST_ID);
const isFamily: Check = (v) => v === 4 || v === 6;
const isAddress = text(MAX_ADDRESS_TEXT);
const isPort = int(0, 65535);
const isUint = int(0, MAX_UINT);
const isService = text(MAX_SERVICE_NAME);
const isPid = int(1, 2 ** 31 - 1);
const isBool: Check = (v) => typeof v === 'boolean';
const isCode: Check = (v) => typeof v === 'string' && v.length <= MAX_ERROR_CODE && /^[A-Z][A-Z0-9_]*$/.test(v);

const GRANT_KEY: Shape = { required: { family: isFamily, address: isAddress, port: isPort } };

// ---- requests ----

const REQUESTS: ReadonlyMap<string, Shape> = new Map<RequestOp, Shape>([
  ['hello', { required: { pid: isPid } }],
  ['reconcile', { required: { keep: arrayOf(MAX_KEEP, GRANT_KEY), final: isBool } }],
  ['open', { required: { ...GRANT_KEY.required, service: isService, ttl: isUint } }],
  ['close', { required: GRANT_KEY.required }],
]);

/** A request of the closed vocabulary, or IPC_BAD_SHAPE / IPC_UNKNOWN_OP. */
export function decodeRequest(obj: unknown): MonitorRequest {
  if (!isPlainObject(obj)) throw badShape('request is not a JSON object');
  if (!Object.hasOwn(obj, 'op') || typeof obj.op !== 'string') throw badShape('request has no op');
  const shape = REQUESTS.get(obj.op);
  if (!shape) throw new TumblerError('IPC_UNKNOWN_OP', 'request op is not in the monitor vocabulary');
  const problem = shapeProblem(obj, {
    required: { op: () => true, id: isId, ...shape.required },
    ...(shape.optional && { optional: shape.optional }),
  });
  if (problem !== null) throw badShape(`${obj.op} request: ${problem}`);
  return obj as unknown as MonitorRequest;
}

// ---- responses ----

const RECONCILE_RESULT: Check = (v) => shapeProblem(v, { required: { removed: isUint } }) === null;

/** What `result` may be in an ok answer, by request op (no op: any result of the vocabulary). */
function resultFields(op: RequestOp | undefined): Shape {
  return op === 'reconcile' || op === undefined ? { required: {}, optional: { result: RECONCILE_RESULT } } : { required: {} };
}

/**
 * An answer: {id, ok: true[, result]} or {id, ok: false, code}. With `op` (the op of the request
 * this id answers), the result must be exactly that op's; without it, any result of the vocabulary.
 */
export function decodeResponse(obj: unknown, op?: RequestOp): MonitorResponse {
  if (!isPlainObject(obj)) throw badShape('answer is not a JSON object');
  if (!Object.hasOwn(obj, 'ok') || typeof obj.ok !== 'boolean') throw badShape('answer has no ok flag');
  let shape: Shape;
  if (obj.ok) {
    const result = resultFields(op);
    shape = { required: { id: isId, ok: isBool, ...result.required }, ...(result.optional && { optional: result.optional }) };
  } else {
    shape = { required: { id: isId, ok: isBool, code: isCode } };
  }
  const problem = shapeProblem(obj, shape);
  if (problem !== null) throw badShape(`answer: ${problem}`);
  return obj as unknown as MonitorResponse;
}

// ---- shape checking ----

/** Null when `v` is a plain object with exactly the shape's fields, each passing its check. */
function shapeProblem(v: unknown, shape: Shape): string | null {
  if (!isPlainObject(v)) return 'not a JSON object';
  const optional = shape.optional ?? {};
  for (const key of Object.keys(v)) {
    if (!Object.hasOwn(shape.required, key) && !Object.hasOwn(optional, key)) return 'unexpected field';
  }
  for (const [key, check] of Object.entries(shape.required)) {
    if (!Object.hasOwn(v, key)) return `missing field ${key}`;
    if (!check(v[key])) return `field ${key} has the wrong type or size`;
  }
  for (const [key, check] of Object.entries(optional)) {
    if (Object.hasOwn(v, key) && !check(v[key])) return `field ${key} has the wrong type or size`;
  }
  return null;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function badShape(what: string): TumblerError {
  return new TumblerError('IPC_BAD_SHAPE', what);
}

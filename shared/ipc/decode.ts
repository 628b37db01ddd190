/**
 * Exact-shape decoding of monitor messages (vocabulary: messages.ts), with the strict-shape
 * validator the profiles and bundles use too (shared/shape.ts). Input is a parsed frame body from
 * FrameDecoder. Checks, in order: a plain object → a known op → exactly the op's fields (none
 * missing, none extra) → each field's JSON type and size. Only the shape is checked here; meaning
 * (address, port range, service, TTL) is the monitor's job: server/monitor/validate.ts.
 * Errors: IPC_UNKNOWN_OP, IPC_BAD_SHAPE. Messages never echo the peer's text.
 */
import { TumblerError } from '../errors.js';
import { ShapeError, arrayOf, bool, int, isPlainObject, object, oneOf, text, type Shape } from '../shape.js';
import {
  MAX_ADDRESS_TEXT, MAX_ERROR_CODE, MAX_KEEP, MAX_REQUEST_ID, MAX_SERVICE_NAME, MAX_UINT, MIN_REQUEST_ID,
} from './constants.js';
import type { MonitorRequest, MonitorResponse, RequestOp } from './messages.js';

// ---- fields ----

const id = int(MIN_REQUEST_ID, MAX_REQUEST_ID);
const family = oneOf([4, 6]);
const address = text({ maxChars: MAX_ADDRESS_TEXT });
const port = int(0, 65535);
const uint = int(0, MAX_UINT);
const service = text({ maxChars: MAX_SERVICE_NAME });
const pid = int(1, 2 ** 31 - 1);
const code = text({ maxChars: MAX_ERROR_CODE, re: /^[A-Z][A-Z0-9_]*$/ });
const grantKey = { family, address, port };

// ---- requests ----

const REQUESTS: ReadonlyMap<string, Shape<unknown>> = new Map<RequestOp, Shape<unknown>>([
  ['hello', object({ op: oneOf(['hello']), id, pid })],
  ['reconcile', object({ op: oneOf(['reconcile']), id, keep: arrayOf(object(grantKey), 0, MAX_KEEP), final: bool })],
  ['open', object({ op: oneOf(['open']), id, ...grantKey, service, ttl: uint })],
  ['close', object({ op: oneOf(['close']), id, ...grantKey })],
]);

/** A request of the closed vocabulary, or IPC_BAD_SHAPE / IPC_UNKNOWN_OP. */
export function decodeRequest(obj: unknown): MonitorRequest {
  if (!isPlainObject(obj)) throw badShape('request is not a JSON object');
  if (!Object.hasOwn(obj, 'op') || typeof obj.op !== 'string') throw badShape('request has no op');
  const shape = REQUESTS.get(obj.op);
  if (!shape) throw new TumblerError('IPC_UNKNOWN_OP', 'request op is not in the monitor vocabulary');
  return checked(shape, obj, `${obj.op} request`) as MonitorRequest;
}

// ---- responses ----

const OK_WITH_RESULT = object({ id, ok: oneOf([true]) }, { result: object({ removed: uint }) });
const OK = object({ id, ok: oneOf([true]) });
const REFUSED = object({ id, ok: oneOf([false]), code });

/**
 * An answer: {id, ok: true[, result]} or {id, ok: false, code}. With `op` (the op of the request
 * this id answers), the result must be exactly that op's; without it, any result of the vocabulary.
 */
export function decodeResponse(obj: unknown, op?: RequestOp): MonitorResponse {
  if (!isPlainObject(obj)) throw badShape('answer is not a JSON object');
  if (!Object.hasOwn(obj, 'ok') || typeof obj.ok !== 'boolean') throw badShape('answer has no ok flag');
  const shape = !obj.ok ? REFUSED : op === 'reconcile' || op === undefined ? OK_WITH_RESULT : OK;
  return checked(shape, obj, 'answer') as MonitorResponse;
}

/** The shape's value, or IPC_BAD_SHAPE naming the problem in our words (never the peer's keys or values). */
function checked(shape: Shape<unknown>, obj: unknown, what: string): unknown {
  try {
    return shape(obj, '');
  } catch (e) {
    if (e instanceof ShapeError) throw badShape(`${what}: a field ${e.problem}`);
    throw e;
  }
}

function badShape(what: string): TumblerError {
  return new TumblerError('IPC_BAD_SHAPE', what);
}

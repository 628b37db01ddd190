/**
 * The agent's socket protocol, version 1 (docs/protocol.md, "Appendix B"): pure encode/decode of
 * the frames `tumbler` (Node) and `tumbler-connect` (C, client/connector/) exchange with
 * `tumbler agent` over its Unix socket. One request per connection, one reply, then close.
 *
 *   frame   = u32 BE body length (2..MAX_AGENT_BODY) | body
 *   request = u8 version | u8 op | fields of the op
 *   reply   = u8 version | u8 status (0 ok, 1 error) | fields of the op's answer, or of the error
 *
 * Fields are big-endian integers and `str8` (u8 length | bytes). Decoders read exactly the fields of
 * their op and refuse a short or over-long body (AGENT_BAD_FRAME), another version (AGENT_VERSION)
 * or an unknown op (AGENT_BAD_OP). Bytes of a key never appear in an error or a JSON field. The
 * KDF salt is carried as given: the agent compares it with the profile's own (handlers.ts).
 * (No import reaches the crypto code: asking the agent must not load it.)
 */
import { TumblerError } from '../../shared/errors.js';
import { KEY_BYTES } from '../../shared/protocol/constants.js';

export const AGENT_PROTOCOL_VERSION = 1;
/** Frame header: the body length, u32 big-endian. */
export const AGENT_HEADER_BYTES = 4;
/** Hard cap on a body; a larger length header ends the connection unread. */
export const MAX_AGENT_BODY = 4096;
/** version + op/status. */
const BODY_HEAD_BYTES = 2;

export const AGENT_OP = { open: 1, unlock: 2, lock: 3, list: 4, stop: 5 } as const;
export type AgentOp = keyof typeof AGENT_OP;
export const AGENT_STATUS = { ok: 0, error: 1 } as const;
/** Lifetimes in an unlock request: 0 asks for the agent's default, all ones for "until locked". */
export const LIFETIME_DEFAULT = 0;
export const LIFETIME_UNTIL_LOCKED = 0xffff_ffff;

export interface KdfPin {
  readonly salt: Buffer;
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export type AgentRequest =
  /** Knock for `profile` (service "" = its default; timeoutMs 0 = default; publicAddress "" = none; gateway "" = the profile's order). */
  | {
    readonly op: 'open'; readonly profile: string; readonly service: string; readonly timeoutMs: number; readonly publicAddress: string;
    readonly gateway: string;
  }
  /** Hold `key` (derived with `kdf`) for `profile` during `lifetimeSec` (LIFETIME_DEFAULT, LIFETIME_UNTIL_LOCKED or seconds). */
  | { readonly op: 'unlock'; readonly profile: string; readonly key: Buffer; readonly kdf: KdfPin; readonly lifetimeSec: number }
  /** Forget the key of `profile` ("" = every key). */
  | { readonly op: 'lock'; readonly profile: string }
  | { readonly op: 'list' }
  | { readonly op: 'stop' };

export interface UnlockedEntry {
  readonly profile: string;
  /** Seconds until the agent forgets it, null when it keeps it until locked. */
  readonly expiresInSec: number | null;
}

/** Successful answers, by op. `result` of open is the open flow's result object (for the CLI's output). */
export interface AgentAnswers {
  open: { readonly server: string; readonly port: number; readonly result: Record<string, unknown> };
  /** The lifetime applied, seconds; 0 = until locked. */
  unlock: { readonly lifetimeSec: number };
  lock: { readonly forgotten: number };
  list: { readonly pid: number; readonly unlocked: readonly UnlockedEntry[] };
  stop: Record<string, never>;
}

export interface AgentFailure {
  /** The `tumbler` exit status for this error (client/commands/exit-codes.ts), for the C connector. */
  readonly exitCode: number;
  readonly code: string;
  readonly message: string;
}

export type AgentReply<K extends AgentOp> = { readonly ok: true; readonly answer: AgentAnswers[K] } | { readonly ok: false; readonly error: AgentFailure };

const bad = (why: string): TumblerError => new TumblerError('AGENT_BAD_FRAME', `agent frame: ${why}`);

class Writer {
  private readonly parts: Buffer[] = [];
  u8(n: number): this { return this.int(n, 1); }
  u16(n: number): this { return this.int(n, 2); }
  u32(n: number): this { return this.int(n, 4); }
  bytes8(b: Buffer): this {
    if (b.length > 255) throw bad('field longer than 255 bytes');
    this.u8(b.length);
    this.parts.push(b);
    return this;
  }
  str8(s: string): this { return this.bytes8(Buffer.from(s, 'utf8')); }
  text16(s: string): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 0xffff) throw bad('text longer than 65535 bytes');
    this.u16(b.length);
    this.parts.push(b);
    return this;
  }
  /** The whole frame: header and body; throws AGENT_BAD_FRAME over the cap. */
  frame(): Buffer {
    const body = Buffer.concat(this.parts);
    if (body.length > MAX_AGENT_BODY) throw bad(`body of ${body.length} bytes exceeds ${MAX_AGENT_BODY}`);
    const head = Buffer.alloc(AGENT_HEADER_BYTES);
    head.writeUInt32BE(body.length, 0);
    return Buffer.concat([head, body]);
  }
  private int(n: number, size: 1 | 2 | 4): this {
    if (!Number.isInteger(n) || n < 0 || n >= 2 ** (8 * size)) throw bad(`integer ${n} does not fit ${size} bytes`);
    const b = Buffer.alloc(size);
    b.writeUIntBE(n, 0, size);
    this.parts.push(b);
    return this;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  private off = BODY_HEAD_BYTES;
  constructor(private readonly body: Buffer) {}
  u8(): number { return this.int(1); }
  u16(): number { return this.int(2); }
  u32(): number { return this.int(4); }
  bytes8(): Buffer {
    const n = this.u8();
    return Buffer.from(this.take(n));
  }
  str8(): string { return this.text(this.u8()); }
  text16(): string { return this.text(this.u16()); }
  /** Every byte must have been read. */
  end(): void {
    if (this.off !== this.body.length) throw bad(`${this.body.length - this.off} unexpected trailing bytes`);
  }
  private text(n: number): string {
    try {
      return utf8.decode(this.take(n));
    } catch {
      throw bad('text is not UTF-8');
    }
  }
  private take(n: number): Buffer {
    if (this.off + n > this.body.length) throw bad('body too short');
    const b = this.body.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  private int(size: 1 | 2 | 4): number {
    return this.take(size).readUIntBE(0, size);
  }
}

/** Checks the version byte and returns the second byte (op or status) of a body. */
function head(body: Buffer): number {
  if (body.length < BODY_HEAD_BYTES) throw bad('body too short');
  if (body[0] !== AGENT_PROTOCOL_VERSION) throw new TumblerError('AGENT_VERSION', `agent protocol version ${body[0]} (this tumbler speaks ${AGENT_PROTOCOL_VERSION})`);
  return body[1]!;
}

export function encodeRequest(r: AgentRequest): Buffer {
  const w = new Writer().u8(AGENT_PROTOCOL_VERSION).u8(AGENT_OP[r.op]);
  switch (r.op) {
    case 'open':
      return w.str8(r.profile).str8(r.service).u16(r.timeoutMs).str8(r.publicAddress).str8(r.gateway).frame();
    case 'unlock':
      if (r.key.length !== KEY_BYTES) throw bad('key of the wrong size');
      return w.str8(r.profile).bytes8(r.key).bytes8(r.kdf.salt).u32(r.kdf.N).u32(r.kdf.r).u32(r.kdf.p).u32(r.lifetimeSec).frame();
    case 'lock':
      return w.str8(r.profile).frame();
    case 'list':
    case 'stop':
      return w.frame();
  }
}

/** Decodes a request body (the frame without its header). */
export function decodeRequest(body: Buffer): AgentRequest {
  const op = head(body);
  const r = new Reader(body);
  let out: AgentRequest;
  switch (op) {
    case AGENT_OP.open:
      out = { op: 'open', profile: r.str8(), service: r.str8(), timeoutMs: r.u16(), publicAddress: r.str8(), gateway: r.str8() };
      break;
    case AGENT_OP.unlock: {
      const profile = r.str8();
      const key = r.bytes8();
      const salt = r.bytes8();
      const kdf = { salt, N: r.u32(), r: r.u32(), p: r.u32() };
      out = { op: 'unlock', profile, key, kdf, lifetimeSec: r.u32() };
      if (key.length !== KEY_BYTES) {
        key.fill(0);
        throw bad('key of the wrong size');
      }
      break;
    }
    case AGENT_OP.lock:
      out = { op: 'lock', profile: r.str8() };
      break;
    case AGENT_OP.list:
      out = { op: 'list' };
      break;
    case AGENT_OP.stop:
      out = { op: 'stop' };
      break;
    default:
      throw new TumblerError('AGENT_BAD_OP', `unknown agent operation ${op}`);
  }
  r.end();
  return out;
}

const json = (v: unknown): string => JSON.stringify(v);

export function encodeAnswer<K extends AgentOp>(op: K, a: AgentAnswers[K]): Buffer {
  const w = new Writer().u8(AGENT_PROTOCOL_VERSION).u8(AGENT_STATUS.ok);
  switch (op) {
    case 'open': {
      const o = a as AgentAnswers['open'];
      return w.str8(o.server).u16(o.port).text16(json(o.result)).frame();
    }
    case 'unlock':
      return w.u32((a as AgentAnswers['unlock']).lifetimeSec).frame();
    case 'lock':
      return w.u16((a as AgentAnswers['lock']).forgotten).frame();
    case 'list': {
      const l = a as AgentAnswers['list'];
      return w.u32(l.pid).text16(json(l.unlocked)).frame();
    }
    default:
      return w.frame();
  }
}

export function encodeFailure(f: AgentFailure): Buffer {
  return new Writer().u8(AGENT_PROTOCOL_VERSION).u8(AGENT_STATUS.error).u8(f.exitCode).str8(f.code).text16(f.message).frame();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw bad('JSON field does not parse');
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function unlockedList(x: unknown): UnlockedEntry[] {
  if (!Array.isArray(x) || !x.every((e) => isObject(e) && typeof e.profile === 'string' && (e.expiresInSec === null || Number.isSafeInteger(e.expiresInSec)))) {
    throw bad('bad list of unlocked profiles');
  }
  return x as UnlockedEntry[];
}

/** Decodes the reply body to a request of `op`. */
export function decodeReply<K extends AgentOp>(op: K, body: Buffer): AgentReply<K> {
  const status = head(body);
  const r = new Reader(body);
  if (status === AGENT_STATUS.error) {
    const error = { exitCode: r.u8(), code: r.str8(), message: r.text16() };
    r.end();
    if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(error.code)) throw bad('bad error code');
    return { ok: false, error };
  }
  if (status !== AGENT_STATUS.ok) throw bad(`unknown status ${status}`);
  let answer: AgentAnswers[AgentOp];
  switch (op) {
    case 'open': {
      const server = r.str8();
      const port = r.u16();
      const result = parseJson(r.text16());
      if (!isObject(result) || port === 0) throw bad('bad open answer');
      answer = { server, port, result };
      break;
    }
    case 'unlock':
      answer = { lifetimeSec: r.u32() };
      break;
    case 'lock':
      answer = { forgotten: r.u16() };
      break;
    case 'list':
      answer = { pid: r.u32(), unlocked: unlockedList(parseJson(r.text16())) };
      break;
    default:
      answer = {};
  }
  r.end();
  return { ok: true, answer: answer as AgentAnswers[K] };
}

/** The body length announced by a frame header; throws AGENT_BAD_FRAME outside 2..MAX_AGENT_BODY. */
export function bodyLength(header: Buffer): number {
  const n = header.readUInt32BE(0);
  if (n < BODY_HEAD_BYTES || n > MAX_AGENT_BODY) throw bad(`frame length ${n} outside ${BODY_HEAD_BYTES}..${MAX_AGENT_BODY}`);
  return n;
}

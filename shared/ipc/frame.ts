/**
 * Monitor IPC framing: a 4-byte big-endian body length, then the body, one UTF-8 JSON object.
 * The length is checked against MAX_FRAME as soon as the header is complete, before any of the
 * body is buffered. Pure: bytes in, values out; the caller owns the socket.
 * Errors: IPC_OVERSIZE (length over the cap), IPC_BAD_JSON (body not UTF-8 JSON).
 */
import { TumblerError } from '../errors.js';
import { FRAME_HEADER_BYTES, MAX_FRAME } from './constants.js';

/** One frame for `message` (any JSON-serialisable object). Throws IPC_OVERSIZE over MAX_FRAME. */
export function encodeFrame(message: object): Buffer {
  const json = JSON.stringify(message) as string | undefined;
  if (json === undefined) throw new TumblerError('IPC_BAD_SHAPE', 'message is not JSON-serialisable');
  const body = Buffer.from(json, 'utf8');
  if (body.length > MAX_FRAME) throw new TumblerError('IPC_OVERSIZE', `frame body of ${body.length} bytes exceeds ${MAX_FRAME}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Reassembles frames from a byte stream cut anywhere. After it throws once, the stream is
 * unusable (the peer broke the protocol): every later push throws the same error.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private failure: TumblerError | null = null;

  /** Add bytes; returns the parsed bodies of every frame now complete, in order. */
  push(chunk: Buffer): unknown[] {
    if (this.failure) throw this.failure;
    try {
      return this.drain(chunk);
    } catch (e) {
      this.failure = e instanceof TumblerError ? e : new TumblerError('IPC_BAD_JSON', 'frame could not be decoded');
      this.pending = Buffer.alloc(0);
      throw this.failure;
    }
  }

  /** Bytes held for a frame not yet complete (at most FRAME_HEADER_BYTES + MAX_FRAME - 1). */
  get buffered(): number {
    return this.pending.length;
  }

  private drain(chunk: Buffer): unknown[] {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: unknown[] = [];
    while (buf.length >= FRAME_HEADER_BYTES) {
      // 1. Header: the cap is enforced before the body is waited for.
      const length = buf.readUInt32BE(0);
      if (length > MAX_FRAME) throw new TumblerError('IPC_OVERSIZE', `frame length ${length} exceeds ${MAX_FRAME}`);
      if (buf.length < FRAME_HEADER_BYTES + length) break;
      // 2. Body.
      out.push(parseBody(buf.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length)));
      buf = buf.subarray(FRAME_HEADER_BYTES + length);
    }
    // Copy the remainder so a large chunk is not kept alive by a small tail.
    this.pending = Buffer.from(buf);
    return out;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function parseBody(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new TumblerError('IPC_BAD_JSON', 'frame body is not UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TumblerError('IPC_BAD_JSON', 'frame body is not JSON');
  }
}

/**
 * Reading one agent frame from a socket (both sides send exactly one frame per connection): the
 * header's length is checked against the cap before the body is buffered; bytes beyond the frame,
 * a hang-up before its end and a stall past the deadline are errors. Returns the body.
 */
import type { Socket } from 'node:net';
import { TumblerError } from '../../shared/errors.js';
import { AGENT_HEADER_BYTES, bodyLength } from './protocol.js';

export function readFrame(sock: Socket, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let acc: Buffer = Buffer.alloc(0);
    let need = -1; // body length, once the header is in
    const finish = (err: TumblerError | null, body?: Buffer): void => {
      clearTimeout(timer);
      sock.removeListener('data', onData);
      sock.removeListener('end', onEnd);
      sock.removeListener('error', onError);
      if (err) {
        acc.fill(0);
        reject(err);
      } else resolve(body!);
    };
    const onData = (chunk: Buffer): void => {
      acc = acc.length ? Buffer.concat([acc, chunk]) : chunk;
      try {
        if (need < 0 && acc.length >= AGENT_HEADER_BYTES) need = bodyLength(acc);
      } catch (e) {
        return finish(e as TumblerError);
      }
      if (need < 0 || acc.length < AGENT_HEADER_BYTES + need) return;
      if (acc.length > AGENT_HEADER_BYTES + need) return finish(new TumblerError('AGENT_BAD_FRAME', 'agent frame: bytes after the frame'));
      finish(null, acc.subarray(AGENT_HEADER_BYTES));
    };
    const onEnd = (): void => finish(new TumblerError('AGENT_TRUNCATED', 'the agent connection closed in the middle of a frame'));
    const onError = (e: NodeJS.ErrnoException): void => finish(new TumblerError('AGENT_IO', `agent connection failed (${e.code ?? e.message})`));
    const timer = setTimeout(() => finish(new TumblerError('AGENT_TIMEOUT', 'no complete frame in time on the agent connection')), timeoutMs);
    sock.on('data', onData);
    sock.once('end', onEnd);
    sock.once('error', onError);
  });
}

/**
 * Runs the privileged raw-socket helper (client/helper/tumbler-helper.c): encodes the knock's three
 * IP packets as a "TKH1" request on its stdin, and returns the TCP payload of the server's SYN-ACK
 * (or null when none came in time). Spawned with an argv array, never through a shell.
 */
import { spawn } from 'node:child_process';
import { TumblerError } from '../../shared/errors.js';
import type { IpFamily } from '../../shared/net/address.js';
import { MAX_SYNACK_PAYLOAD } from '../../shared/packet/constants.js';

export const HELPER_EXIT = {
  OK: 0,
  BAD_REQUEST: 64,
  PRIV_DROP: 70,
  NOT_PRIVILEGED: 71,
  IO: 74,
  TIMEOUT: 75,
} as const;

export const HELPER_MAX_REQUEST = 1024;
/** The helper writes a reply's payload only, which the protocol caps. */
export const HELPER_MAX_REPLY = MAX_SYNACK_PAYLOAD;
const MAX_STDERR = 512;
/** Grace beyond timeoutMs before the helper is killed as hung. */
const KILL_GRACE_MS = 5000;

/** Encodes the request; throws HELPER_BAD_REQUEST for anything the helper would refuse by shape. */
export function encodeHelperRequest(family: IpFamily, packets: readonly Buffer[], timeoutMs: number): Buffer {
  if (family !== 4 && family !== 6) throw new TumblerError('HELPER_BAD_REQUEST', 'family must be 4 or 6');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 10000) {
    throw new TumblerError('HELPER_BAD_REQUEST', 'timeoutMs must be an integer in 100..10000');
  }
  if (packets.length !== 3) throw new TumblerError('HELPER_BAD_REQUEST', 'exactly 3 packets are required');
  const head = Buffer.alloc(8);
  head.write('TKH1', 0, 'latin1');
  head.writeUInt8(family, 4);
  head.writeUInt16BE(timeoutMs, 5);
  head.writeUInt8(packets.length, 7);
  const parts: Buffer[] = [head];
  for (const p of packets) {
    if (p.length === 0 || p.length > 0xffff) throw new TumblerError('HELPER_BAD_REQUEST', 'bad packet length');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(p.length, 0);
    parts.push(len, p);
  }
  const req = Buffer.concat(parts);
  if (req.length > HELPER_MAX_REQUEST) throw new TumblerError('HELPER_BAD_REQUEST', 'request too large');
  return req;
}

/** Decodes the helper's stdout (u16 length | payload); throws HELPER_IO when malformed. */
export function decodeHelperReply(out: Buffer): Buffer {
  if (out.length < 3) throw new TumblerError('HELPER_IO', 'helper reply truncated');
  const len = out.readUInt16BE(0);
  if (len < 1 || len > HELPER_MAX_REPLY || out.length !== 2 + len) {
    throw new TumblerError('HELPER_IO', 'helper reply malformed');
  }
  return Buffer.from(out.subarray(2));
}

function exitError(code: number | null, signal: NodeJS.Signals | null, stderr: string): TumblerError {
  const detail = stderr.split('\n')[0]?.slice(0, 200) ?? '';
  const msg = (m: string): string => (detail ? `${m}: ${detail}` : m);
  switch (code) {
    case HELPER_EXIT.BAD_REQUEST: return new TumblerError('HELPER_BAD_REQUEST', msg('helper refused the request'));
    case HELPER_EXIT.PRIV_DROP: return new TumblerError('HELPER_PRIV_DROP', msg('helper could not drop privileges'));
    case HELPER_EXIT.NOT_PRIVILEGED:
      return new TumblerError('HELPER_NOT_PRIVILEGED', 'helper cannot open raw sockets; install with: sudo tumbler install-helper');
    case HELPER_EXIT.IO: return new TumblerError('HELPER_IO', msg('helper I/O error'));
    default:
      return new TumblerError('HELPER_IO', signal ? `helper killed by ${signal}` : `helper exited with ${String(code)}`);
  }
}

/**
 * Sends the three SYNs through the helper and waits up to timeoutMs for the SYN-ACK's payload.
 * Resolves to the payload, or null when no reply came in time. Errors are TumblerErrors with codes
 * HELPER_BAD_REQUEST, HELPER_PRIV_DROP, HELPER_NOT_PRIVILEGED, HELPER_IO, HELPER_MISSING.
 */
export function runHelper(helperPath: string, family: IpFamily, packets: readonly Buffer[], timeoutMs: number): Promise<Buffer | null> {
  const req = encodeHelperRequest(family, packets, timeoutMs);
  return new Promise((resolve, reject) => {
    const child = spawn(helperPath, [], { stdio: ['pipe', 'pipe', 'pipe'], shell: false });
    const out: Buffer[] = [];
    let outLen = 0;
    let stderr = '';
    let settled = false;
    const finish = (err: TumblerError | null, value: Buffer | null = null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new TumblerError('HELPER_IO', 'helper did not finish in time'));
    }, timeoutMs + KILL_GRACE_MS);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'EACCES') {
        finish(new TumblerError('HELPER_MISSING', `helper not found or not executable at ${helperPath}`, { cause: e }));
      } else {
        finish(new TumblerError('HELPER_IO', 'cannot start helper', { cause: e }));
      }
    });
    child.stdout.on('data', (d: Buffer) => {
      outLen += d.length;
      if (outLen <= 2 + HELPER_MAX_REPLY) out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += d.toString('utf8');
    });
    // The helper may exit before reading (e.g. not privileged): ignore EPIPE on its stdin.
    child.stdin.on('error', () => {});
    child.stdin.end(req);
    child.on('close', (code, signal) => {
      if (code === HELPER_EXIT.OK) {
        try {
          if (outLen > 2 + HELPER_MAX_REPLY) throw new TumblerError('HELPER_IO', 'helper reply too long');
          finish(null, decodeHelperReply(Buffer.concat(out)));
        } catch (e) {
          finish(e instanceof TumblerError ? e : new TumblerError('HELPER_IO', 'helper reply malformed'));
        }
      } else if (code === HELPER_EXIT.TIMEOUT) {
        finish(null, null);
      } else {
        finish(exitError(code, signal, stderr));
      }
    });
  });
}

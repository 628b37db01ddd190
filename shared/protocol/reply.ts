/**
 * Reply codec, protocol v1 (docs/protocol.md, "Reply"): the payload of the server's SYN-ACK.
 * nonce(12) || AES-128-GCM(replyKey, plaintext(40)) || tag(16) = 68 bytes, no constant byte.
 * AAD binds it to the knock it answers: label || sequence key || the knock's three ISNs.
 */
import { TumblerError } from '../errors.js';
import { gcmOpen, gcmSeal, subkey } from '../crypto/index.js';
import {
  LABEL_REPLY, PROTOCOL_VERSION, REPLY_BYTES, REPLY_NONCE_BYTES, REPLY_PLAINTEXT_BYTES, SEQUENCE_KEY_BYTES,
} from './constants.js';
import { Sequence, checkSequence, sequenceFromKey, sequenceKey } from './sequence.js';
import type { AddressBytes } from './knock.js';

/** Plaintext field offsets (bytes). */
const OFF_VERSION = 0; // u8
const OFF_STATUS = 1; // u8, 0 = granted (the only status v1 sends)
const OFF_PORT = 2; // u16 granted forward port
const OFF_EXPIRES = 4; // u32 grant expiry, Unix seconds
const OFF_NEXT = 8; // 9 bytes next sequence key
const OFF_SERVER_TIME = 17; // u48 server clock, Unix milliseconds
const OFF_FAMILY = 23; // u8 4 | 6
const OFF_ADDRESS = 24; // 16 bytes observed client address (IPv4 in the first 4, rest zero)
export const STATUS_GRANTED = 0;

export interface Reply {
  readonly grantedPort: number;
  readonly expiresAt: number; // Unix seconds
  readonly next: Sequence;
  readonly serverTimeMs: number;
  readonly observed: AddressBytes;
}

/** What the reply is bound to: the knock it answers. */
export interface ReplyBinding {
  readonly sequence: Sequence;
  readonly isns: Buffer; // 12 bytes, sequence order
}

export function replyKey(deviceKey: Buffer): Buffer {
  return subkey(deviceKey, LABEL_REPLY);
}

function aad(b: ReplyBinding): Buffer {
  if (b.isns.length !== 12) throw new TumblerError('REPLY_BAD_INPUT', 'binding needs the 12 ISN bytes');
  return Buffer.concat([Buffer.from(LABEL_REPLY, 'utf8'), sequenceKey(b.sequence), b.isns]);
}

export function encodeReplyPlaintext(r: Reply): Buffer {
  checkSequence(r.next);
  const okAddr = (r.observed.family === 4 && r.observed.bytes.length === 4) || (r.observed.family === 6 && r.observed.bytes.length === 16);
  if (!okAddr || !Number.isInteger(r.grantedPort) || r.grantedPort < 1 || r.grantedPort > 65535 ||
      !Number.isInteger(r.expiresAt) || r.expiresAt < 0 || r.expiresAt > 0xffffffff ||
      !Number.isInteger(r.serverTimeMs) || r.serverTimeMs < 0 || r.serverTimeMs > 2 ** 48 - 1) {
    throw new TumblerError('REPLY_BAD_INPUT', 'reply field out of range');
  }
  const p = Buffer.alloc(REPLY_PLAINTEXT_BYTES);
  p[OFF_VERSION] = PROTOCOL_VERSION;
  p[OFF_STATUS] = STATUS_GRANTED;
  p.writeUInt16BE(r.grantedPort, OFF_PORT);
  p.writeUInt32BE(r.expiresAt, OFF_EXPIRES);
  sequenceKey(r.next).copy(p, OFF_NEXT);
  p.writeUIntBE(r.serverTimeMs, OFF_SERVER_TIME, 6);
  p[OFF_FAMILY] = r.observed.family;
  r.observed.bytes.copy(p, OFF_ADDRESS);
  return p;
}

export function decodeReplyPlaintext(p: Buffer): Reply {
  if (p.length !== REPLY_PLAINTEXT_BYTES) throw new TumblerError('REPLY_SHAPE', 'wrong plaintext length');
  if (p[OFF_VERSION] !== PROTOCOL_VERSION) throw new TumblerError('REPLY_VERSION', 'unsupported reply version');
  if (p[OFF_STATUS] !== STATUS_GRANTED) throw new TumblerError('REPLY_SHAPE', 'unknown status');
  const family = p[OFF_FAMILY];
  if (family !== 4 && family !== 6) throw new TumblerError('REPLY_SHAPE', 'bad address family');
  const addrLen = family === 4 ? 4 : 16;
  if (family === 4 && !p.subarray(OFF_ADDRESS + 4).equals(Buffer.alloc(12))) throw new TumblerError('REPLY_SHAPE', 'bad padding');
  let next: Sequence;
  try {
    next = sequenceFromKey(p.subarray(OFF_NEXT, OFF_NEXT + SEQUENCE_KEY_BYTES));
  } catch {
    throw new TumblerError('REPLY_SHAPE', 'bad next sequence');
  }
  const grantedPort = p.readUInt16BE(OFF_PORT);
  if (grantedPort === 0) throw new TumblerError('REPLY_SHAPE', 'bad port');
  return {
    grantedPort,
    expiresAt: p.readUInt32BE(OFF_EXPIRES),
    next,
    serverTimeMs: p.readUIntBE(OFF_SERVER_TIME, 6),
    observed: { family, bytes: Buffer.from(p.subarray(OFF_ADDRESS, OFF_ADDRESS + addrLen)) },
  };
}

/** Seal a reply for the knock `binding`; the nonce comes from the injected `random`. */
export function sealReply(key: Buffer, reply: Reply, binding: ReplyBinding, random: (n: number) => Buffer): Buffer {
  const nonce = random(REPLY_NONCE_BYTES);
  if (nonce.length !== REPLY_NONCE_BYTES) throw new TumblerError('REPLY_BAD_INPUT', 'random returned the wrong length');
  return Buffer.concat([nonce, gcmSeal(key, nonce, aad(binding), encodeReplyPlaintext(reply))]);
}

/** Open a reply payload; exact length first, then GCM, then fields. Throws REPLY_* codes. */
export function openReply(key: Buffer, payload: Buffer, binding: ReplyBinding): Reply {
  if (payload.length !== REPLY_BYTES) throw new TumblerError('REPLY_SHAPE', 'wrong reply length');
  const nonce = payload.subarray(0, REPLY_NONCE_BYTES);
  let plain: Buffer;
  try {
    plain = gcmOpen(key, nonce, aad(binding), payload.subarray(REPLY_NONCE_BYTES));
  } catch {
    throw new TumblerError('REPLY_AUTH', 'reply failed authentication');
  }
  return decodeReplyPlaintext(plain);
}

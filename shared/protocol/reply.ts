/**
 * Reply codec, protocol v1 (docs/protocol.md, "Reply"): the payload of the server's SYN-ACK.
 * nonce(12) || AES-128-GCM(replyKey, plaintext(40)) || tag(16) = 68 bytes, no constant byte.
 * AAD binds it to the knock it answers: label || sequence key || the knock's three ISNs.
 * Two statuses: a grant (answering a knock) and an address report (answering a probe: the address
 * the server saw, its clock and its timestamp window; no port, no next sequence).
 */
import { TumblerError } from '../errors.js';
import { gcmOpen, gcmSeal, subkey } from '../crypto/index.js';
import {
  LABEL_REPLY, MAX_TIMESTAMP_WINDOW_SEC, PROTOCOL_VERSION, REPLY_BYTES, REPLY_NONCE_BYTES, REPLY_PLAINTEXT_BYTES,
  REPLY_STATUS_ADDRESS, REPLY_STATUS_GRANTED, SEQUENCE_KEY_BYTES,
} from './constants.js';
import { Sequence, checkSequence, sequenceFromKey, sequenceKey } from './sequence.js';
import { isAddressBytes, type AddressBytes } from '../net/address.js';

/** Plaintext field offsets (bytes). */
const OFF_VERSION = 0; // u8
const OFF_STATUS = 1; // u8, REPLY_STATUS_GRANTED | REPLY_STATUS_ADDRESS
const OFF_PORT = 2; // u16 granted forward port (address report: the server's timestamp window, s)
const OFF_EXPIRES = 4; // u32 grant expiry, Unix seconds (address report: zero)
const OFF_NEXT = 8; // 9 bytes next sequence key (address report: zero)
const OFF_SERVER_TIME = 17; // u48 server clock, Unix milliseconds
const OFF_FAMILY = 23; // u8 4 | 6
const OFF_ADDRESS = 24; // 16 bytes observed client address (IPv4 in the first 4, rest zero)
const OFF_WINDOW = OFF_PORT;

/** A grant: the answer to a knock. */
export interface Reply {
  readonly grantedPort: number;
  readonly expiresAt: number; // Unix seconds
  readonly next: Sequence;
  readonly serverTimeMs: number;
  readonly observed: AddressBytes;
}

/** The answer to a probe: where the server saw the packets come from, and its clock. */
export interface AddressReport {
  readonly windowSec: number; // the server's knock timestamp window
  readonly serverTimeMs: number;
  readonly observed: AddressBytes;
}

/** What an opened payload holds. */
export type OpenedReply = ({ readonly kind: 'grant' } & Reply) | ({ readonly kind: 'address' } & AddressReport);

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

const validServerTime = (ms: number): boolean => Number.isInteger(ms) && ms >= 0 && ms <= 2 ** 48 - 1;

/** The fields both statuses share: version, status, server time, observed address. */
function plaintext(status: number, serverTimeMs: number, observed: AddressBytes): Buffer {
  const p = Buffer.alloc(REPLY_PLAINTEXT_BYTES);
  p[OFF_VERSION] = PROTOCOL_VERSION;
  p[OFF_STATUS] = status;
  p.writeUIntBE(serverTimeMs, OFF_SERVER_TIME, 6);
  p[OFF_FAMILY] = observed.family;
  observed.bytes.copy(p, OFF_ADDRESS);
  return p;
}

export function encodeReplyPlaintext(r: Reply): Buffer {
  checkSequence(r.next);
  if (!isAddressBytes(r.observed) || !Number.isInteger(r.grantedPort) || r.grantedPort < 1 || r.grantedPort > 65535 ||
      !Number.isInteger(r.expiresAt) || r.expiresAt < 0 || r.expiresAt > 0xffffffff || !validServerTime(r.serverTimeMs)) {
    throw new TumblerError('REPLY_BAD_INPUT', 'reply field out of range');
  }
  const p = plaintext(REPLY_STATUS_GRANTED, r.serverTimeMs, r.observed);
  p.writeUInt16BE(r.grantedPort, OFF_PORT);
  p.writeUInt32BE(r.expiresAt, OFF_EXPIRES);
  sequenceKey(r.next).copy(p, OFF_NEXT);
  return p;
}

export function encodeAddressReportPlaintext(r: AddressReport): Buffer {
  if (!isAddressBytes(r.observed) || !validServerTime(r.serverTimeMs) || !Number.isInteger(r.windowSec) ||
      r.windowSec < 1 || r.windowSec > MAX_TIMESTAMP_WINDOW_SEC) {
    throw new TumblerError('REPLY_BAD_INPUT', 'address report field out of range');
  }
  const p = plaintext(REPLY_STATUS_ADDRESS, r.serverTimeMs, r.observed);
  p.writeUInt16BE(r.windowSec, OFF_WINDOW);
  return p;
}

const shape = (why: string): TumblerError => new TumblerError('REPLY_SHAPE', why);

export function decodeReplyPlaintext(p: Buffer): OpenedReply {
  if (p.length !== REPLY_PLAINTEXT_BYTES) throw shape('wrong plaintext length');
  if (p[OFF_VERSION] !== PROTOCOL_VERSION) throw new TumblerError('REPLY_VERSION', 'unsupported reply version');
  const status = p[OFF_STATUS];
  if (status !== REPLY_STATUS_GRANTED && status !== REPLY_STATUS_ADDRESS) throw shape('unknown status');
  const family = p[OFF_FAMILY];
  if (family !== 4 && family !== 6) throw shape('bad address family');
  const addrLen = family === 4 ? 4 : 16;
  if (family === 4 && !p.subarray(OFF_ADDRESS + 4).equals(Buffer.alloc(12))) throw shape('bad padding');
  const serverTimeMs = p.readUIntBE(OFF_SERVER_TIME, 6);
  const observed: AddressBytes = { family, bytes: Buffer.from(p.subarray(OFF_ADDRESS, OFF_ADDRESS + addrLen)) };
  if (status === REPLY_STATUS_ADDRESS) {
    const windowSec = p.readUInt16BE(OFF_WINDOW);
    if (windowSec < 1 || windowSec > MAX_TIMESTAMP_WINDOW_SEC) throw shape('bad window');
    if (!p.subarray(OFF_EXPIRES, OFF_SERVER_TIME).equals(Buffer.alloc(OFF_SERVER_TIME - OFF_EXPIRES))) throw shape('bad padding');
    return { kind: 'address', windowSec, serverTimeMs, observed };
  }
  let next: Sequence;
  try {
    next = sequenceFromKey(p.subarray(OFF_NEXT, OFF_NEXT + SEQUENCE_KEY_BYTES));
  } catch {
    throw shape('bad next sequence');
  }
  const grantedPort = p.readUInt16BE(OFF_PORT);
  if (grantedPort === 0) throw shape('bad port');
  return { kind: 'grant', grantedPort, expiresAt: p.readUInt32BE(OFF_EXPIRES), next, serverTimeMs, observed };
}

function sealPlaintext(key: Buffer, plain: Buffer, binding: ReplyBinding, random: (n: number) => Buffer): Buffer {
  const nonce = random(REPLY_NONCE_BYTES);
  if (nonce.length !== REPLY_NONCE_BYTES) throw new TumblerError('REPLY_BAD_INPUT', 'random returned the wrong length');
  return Buffer.concat([nonce, gcmSeal(key, nonce, aad(binding), plain)]);
}

/** Seal a grant reply for the knock `binding`; the nonce comes from the injected `random`. */
export function sealReply(key: Buffer, reply: Reply, binding: ReplyBinding, random: (n: number) => Buffer): Buffer {
  return sealPlaintext(key, encodeReplyPlaintext(reply), binding, random);
}

/** Seal the answer to the probe `binding`. */
export function sealAddressReport(key: Buffer, report: AddressReport, binding: ReplyBinding, random: (n: number) => Buffer): Buffer {
  return sealPlaintext(key, encodeAddressReportPlaintext(report), binding, random);
}

/** Open an answer of either kind; exact length first, then GCM, then fields. Throws REPLY_* codes. */
export function openAnswer(key: Buffer, payload: Buffer, binding: ReplyBinding): OpenedReply {
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

/** Open a payload that must be a grant (the answer to a knock); an address report is REPLY_SHAPE. */
export function openReply(key: Buffer, payload: Buffer, binding: ReplyBinding): Reply {
  const r = openAnswer(key, payload, binding);
  if (r.kind !== 'grant') throw shape('not a grant');
  const { kind: _kind, ...grant } = r;
  return grant;
}

/**
 * Enrollment bundle, version 1 (docs/protocol.md, "Enrollment bundle"): what the admin hands a
 * device. Text form: "tumbler1." + base64url(JSON) + "." + hex(first 4 bytes of SHA-256(JSON)).
 * Copy-paste friendly: whitespace and line breaks are ignored on decode; a typo fails the checksum.
 * It carries no password and no key: the device derives its key from the password it is told.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { TumblerError } from '../errors.js';
import { MAX_SERVICE_ID, SEQUENCE_KEY_BYTES } from './constants.js';
import { KdfParams, SALT_BYTES, checkKdfParams } from './kdf.js';
import { Sequence, sequenceFromKey, sequenceKey } from './sequence.js';

export const BUNDLE_PREFIX = 'tumbler1';
const MAX_BUNDLE_CHARS = 4096;
const NAME = /^[a-z0-9_][a-z0-9_.-]{0,31}$/;

export interface Bundle {
  readonly server: string; // address literal the knocks go to
  readonly user: string;
  readonly device: string;
  readonly kdf: KdfParams;
  readonly sequence: Sequence; // the first one-time sequence
  readonly services: Readonly<Record<string, number>>; // name → id the user may open
  readonly issuedAtMs: number;
}

function checksum(json: string): string {
  return createHash('sha256').update(json, 'utf8').digest().subarray(0, 4).toString('hex');
}

export function encodeBundle(b: Bundle): string {
  checkBundle(b);
  const json = JSON.stringify({
    v: 1,
    server: b.server,
    user: b.user,
    device: b.device,
    kdf: { salt: b.kdf.salt.toString('base64url'), N: b.kdf.N, r: b.kdf.r, p: b.kdf.p },
    seq: sequenceKey(b.sequence).toString('hex'),
    services: b.services,
    issued: b.issuedAtMs,
  });
  return `${BUNDLE_PREFIX}.${Buffer.from(json, 'utf8').toString('base64url')}.${checksum(json)}`;
}

const bad = (why: string): TumblerError => new TumblerError('BUNDLE_INVALID', `enrollment bundle: ${why}`);

export function decodeBundle(text: string): Bundle {
  if (typeof text !== 'string' || text.length > MAX_BUNDLE_CHARS) throw bad('too long');
  const compact = text.replace(/\s+/g, '');
  const parts = compact.split('.');
  if (parts.length !== 3 || !parts[0]!.startsWith('tumbler')) throw bad('not a Tumbler bundle');
  if (parts[0] !== BUNDLE_PREFIX) throw new TumblerError('BUNDLE_VERSION', `unsupported bundle version "${parts[0]}"`);
  if (!/^[A-Za-z0-9_-]+$/.test(parts[1]!) || !/^[0-9a-f]{8}$/.test(parts[2]!)) throw bad('malformed');
  const json = Buffer.from(parts[1]!, 'base64url').toString('utf8');
  if (checksum(json) !== parts[2]) throw new TumblerError('BUNDLE_CHECKSUM', 'enrollment bundle checksum mismatch (copy error?)');
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw bad('not JSON');
  }
  const keys = ['v', 'server', 'user', 'device', 'kdf', 'seq', 'services', 'issued'];
  if (typeof o !== 'object' || o === null || Object.keys(o).sort().join() !== [...keys].sort().join()) throw bad('unexpected fields');
  if (o.v !== 1) throw new TumblerError('BUNDLE_VERSION', 'unsupported bundle version');
  const kdf = o.kdf as Record<string, unknown>;
  if (typeof kdf !== 'object' || kdf === null || Object.keys(kdf).sort().join() !== 'N,p,r,salt' || typeof kdf.salt !== 'string') throw bad('bad kdf');
  const seqHex = o.seq;
  if (typeof seqHex !== 'string' || !new RegExp(`^[0-9a-f]{${SEQUENCE_KEY_BYTES * 2}}$`).test(seqHex)) throw bad('bad sequence');
  const b: Bundle = {
    server: o.server as string,
    user: o.user as string,
    device: o.device as string,
    kdf: { salt: Buffer.from(kdf.salt, 'base64url'), N: kdf.N as number, r: kdf.r as number, p: kdf.p as number },
    sequence: (() => { try { return sequenceFromKey(Buffer.from(seqHex, 'hex')); } catch { throw bad('bad sequence'); } })(),
    services: o.services as Record<string, number>,
    issuedAtMs: o.issued as number,
  };
  checkBundle(b);
  return b;
}

function checkBundle(b: Bundle): void {
  if (typeof b.server !== 'string' || isIP(b.server) === 0) throw bad('server must be an IP address literal');
  if (typeof b.user !== 'string' || !NAME.test(b.user) || typeof b.device !== 'string' || !NAME.test(b.device)) throw bad('bad user or device name');
  if (!(b.kdf.salt instanceof Buffer) || b.kdf.salt.length !== SALT_BYTES) throw bad('bad salt');
  try { checkKdfParams(b.kdf); } catch { throw bad('KDF parameters out of bounds'); }
  const svc = b.services;
  if (typeof svc !== 'object' || svc === null || Array.isArray(svc) || Object.keys(svc).length === 0 ||
      !Object.entries(svc).every(([n, id]) => /^[a-z][a-z0-9_-]{0,31}$/.test(n) && Number.isInteger(id) && id >= 1 && id <= MAX_SERVICE_ID)) {
    throw bad('bad services');
  }
  if (!Number.isInteger(b.issuedAtMs) || b.issuedAtMs < 0) throw bad('bad issue time');
}

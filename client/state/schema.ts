/**
 * Client profile, JSON schema version 1, and its strict validator. One profile per enrolled
 * server/device: where to knock, the KDF parameters (and the derived key unless kept off disk),
 * the current one-time sequence, services, clock offset, last observed address and last grant.
 * Unknown fields, wrong types or out-of-range values are PROFILE_CORRUPT; another `v` is
 * PROFILE_VERSION.
 */
import { isIP } from 'node:net';
import { TumblerError } from '../../shared/errors.js';
import { KEY_BYTES, MAX_SERVICE_ID } from '../../shared/protocol/constants.js';
import { SALT_BYTES, checkKdfParams } from '../../shared/protocol/kdf.js';
import { checkSequence } from '../../shared/protocol/sequence.js';

export const PROFILE_VERSION = 1;
export const PROFILE_NAME_RE = /^[a-z0-9_][a-z0-9_.-]{0,63}$/;
const USER_RE = /^[a-z0-9_][a-z0-9_.-]{0,31}$/;
const SERVICE_RE = /^[a-z][a-z0-9_-]{0,31}$/;
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface ProfileV1 {
  v: 1;
  name: string;
  server: { address: string; family: 4 | 6 };
  deviceId: number;
  user: string;
  /** base64 device key; absent when the key is kept off disk (asked for on each use). */
  key?: string;
  kdf: { salt: string; N: number; r: number; p: number };
  sequence: { ports: [number, number, number]; tags: [number, number, number] };
  services: Record<string, number>;
  clockOffsetMs: number;
  observedAddress?: string;
  lastGrant?: { port: number; service: string; expiresAt: number };
  /** Unix ms of the last save. */
  updatedAt: number;
}

export type Profile = ProfileV1;

const corrupt = (why: string): TumblerError => new TumblerError('PROFILE_CORRUPT', `profile is corrupt: ${why}`);

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function keysIn(o: Record<string, unknown>, required: string[], optional: string[], where: string): void {
  for (const k of required) if (!(k in o)) throw corrupt(`${where}: missing ${k}`);
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) throw corrupt(`${where}: unexpected field ${k}`);
}

const isInt = (x: unknown, min: number, max: number): x is number => Number.isSafeInteger(x) && (x as number) >= min && (x as number) <= max;

function base64Of(x: unknown, bytes: number, where: string): void {
  if (typeof x !== 'string' || !B64_RE.test(x) || Buffer.from(x, 'base64').length !== bytes) throw corrupt(`${where} must be ${bytes} bytes of base64`);
}

function intTriple(x: unknown, where: string): [number, number, number] {
  if (!Array.isArray(x) || x.length !== 3 || !x.every((n) => isInt(n, 0, 65535))) throw corrupt(`${where} must be 3 integers`);
  return x as [number, number, number];
}

/** Validates a parsed profile document; returns it typed. `expectedName` must match its `name`. */
export function validateProfile(doc: unknown, expectedName?: string): Profile {
  if (!isObj(doc)) throw corrupt('not an object');
  if (!('v' in doc) || !Number.isSafeInteger(doc.v)) throw corrupt('missing version');
  if (doc.v !== PROFILE_VERSION) throw new TumblerError('PROFILE_VERSION', `unsupported profile version ${String(doc.v)}`);
  keysIn(doc, ['v', 'name', 'server', 'deviceId', 'user', 'kdf', 'sequence', 'services', 'clockOffsetMs', 'updatedAt'],
    ['key', 'observedAddress', 'lastGrant'], 'profile');
  if (typeof doc.name !== 'string' || !PROFILE_NAME_RE.test(doc.name)) throw corrupt('bad name');
  if (expectedName !== undefined && doc.name !== expectedName) throw corrupt('name does not match the file');
  const server = doc.server;
  if (!isObj(server)) throw corrupt('bad server');
  keysIn(server, ['address', 'family'], [], 'server');
  if (server.family !== 4 && server.family !== 6) throw corrupt('server.family must be 4 or 6');
  if (typeof server.address !== 'string' || isIP(server.address) !== server.family) throw corrupt('server.address must be an IP literal of its family');
  if (!isInt(doc.deviceId, 0, Number.MAX_SAFE_INTEGER)) throw corrupt('bad deviceId');
  if (typeof doc.user !== 'string' || !USER_RE.test(doc.user)) throw corrupt('bad user');
  if ('key' in doc) base64Of(doc.key, KEY_BYTES, 'key');
  const kdf = doc.kdf;
  if (!isObj(kdf)) throw corrupt('bad kdf');
  keysIn(kdf, ['salt', 'N', 'r', 'p'], [], 'kdf');
  base64Of(kdf.salt, SALT_BYTES, 'kdf.salt');
  try {
    checkKdfParams({ salt: Buffer.from(kdf.salt as string, 'base64'), N: kdf.N as number, r: kdf.r as number, p: kdf.p as number });
  } catch {
    throw corrupt('kdf parameters out of bounds');
  }
  const seq = doc.sequence;
  if (!isObj(seq)) throw corrupt('bad sequence');
  keysIn(seq, ['ports', 'tags'], [], 'sequence');
  try {
    checkSequence({ ports: intTriple(seq.ports, 'sequence.ports'), tags: intTriple(seq.tags, 'sequence.tags') });
  } catch (e) {
    throw e instanceof TumblerError && e.code === 'PROFILE_CORRUPT' ? e : corrupt('bad sequence');
  }
  const svc = doc.services;
  if (!isObj(svc) || !Object.entries(svc).every(([n, id]) => SERVICE_RE.test(n) && isInt(id, 1, MAX_SERVICE_ID))) throw corrupt('bad services');
  if (!isInt(doc.clockOffsetMs, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) throw corrupt('bad clockOffsetMs');
  if ('observedAddress' in doc && (typeof doc.observedAddress !== 'string' || isIP(doc.observedAddress) === 0)) throw corrupt('bad observedAddress');
  if ('lastGrant' in doc) {
    const g = doc.lastGrant;
    if (!isObj(g)) throw corrupt('bad lastGrant');
    keysIn(g, ['port', 'service', 'expiresAt'], [], 'lastGrant');
    if (!isInt(g.port, 1, 65535) || typeof g.service !== 'string' || !SERVICE_RE.test(g.service) || !isInt(g.expiresAt, 0, Number.MAX_SAFE_INTEGER)) {
      throw corrupt('bad lastGrant');
    }
  }
  if (!isInt(doc.updatedAt, 0, Number.MAX_SAFE_INTEGER)) throw corrupt('bad updatedAt');
  return doc as unknown as Profile;
}

/**
 * Validation of what callers give the store, the same for both backends: user, device and service
 * names (the protocol's rules, shared/protocol/constants.ts: bundles and profiles carry these
 * names), device keys and KDF parameters, accepted knocks, grants and enrollments. Failures are
 * TumblerErrors with stable codes (STORE_BAD_NAME, STORE_INVALID).
 */
import { TumblerError } from '../../shared/errors.js';
import { DEVICE_NAME_RE, KEY_BYTES, KNOCK_ISNS_BYTES, SERVICE_NAME_RE, USER_NAME_RE } from '../../shared/protocol/constants.js';
import type { KdfParams } from '../../shared/protocol/kdf.js';
import { checkSequence } from '../../shared/protocol/sequence.js';
import { MAX_PORT } from '../config/limits.js';
import type { AcceptKnockInput, AddGrantInput, EnrollInput } from './types.js';

const MAX_SERVICES = 64;

export function checkUserName(name: string): void {
  if (typeof name !== 'string' || !USER_NAME_RE.test(name)) {
    throw new TumblerError('STORE_BAD_NAME', 'user names are 1-32 characters: [a-z_] then [a-z0-9_.-]');
  }
}

export function checkDeviceName(name: string): void {
  if (typeof name !== 'string' || !DEVICE_NAME_RE.test(name)) {
    throw new TumblerError('STORE_BAD_NAME', 'device names are 1-32 characters: [a-z0-9] then [a-z0-9_.-]');
  }
}

/** A list of distinct service names; returned sorted for a stable stored form. */
export function checkServices(services: readonly string[]): string[] {
  if (!Array.isArray(services) || services.length > MAX_SERVICES) {
    throw new TumblerError('STORE_BAD_NAME', `services must be a list of at most ${MAX_SERVICES} names`);
  }
  for (const s of services) {
    if (typeof s !== 'string' || !SERVICE_NAME_RE.test(s)) {
      throw new TumblerError('STORE_BAD_NAME', 'service names are 1-32 characters: [a-z] then [a-z0-9_-]');
    }
  }
  return [...new Set(services)].sort();
}

function checkDeviceKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new TumblerError('STORE_INVALID', `a device key is ${KEY_BYTES} bytes`);
  }
}

/** Shape only: the bounds are the KDF's business (shared/protocol/kdf.ts) at enrollment. */
function checkKdfShape(k: KdfParams): void {
  const int = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!k || !Buffer.isBuffer(k.salt) || k.salt.length === 0 || !int(k.N) || !int(k.r) || !int(k.p)) {
    throw new TumblerError('STORE_INVALID', 'KDF parameters need a salt and positive integer N, r, p');
  }
}

const isPort = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= MAX_PORT;
const isFamily = (f: number): boolean => f === 4 || f === 6;

export function checkAcceptInput(a: AcceptKnockInput): void {
  checkSequence(a.next);
  if (!Buffer.isBuffer(a.isns) || a.isns.length !== KNOCK_ISNS_BYTES || !Buffer.isBuffer(a.reply) || a.reply.length === 0 ||
      !isFamily(a.family) || !isPort(a.port) || !Number.isInteger(a.ttlSec) || a.ttlSec < 1 || !Number.isInteger(a.ts) ||
      (a.mode !== 'first' && a.mode !== 'recovery')) {
    throw new TumblerError('STORE_INVALID', 'malformed accepted knock');
  }
}

export function checkGrantInput(g: AddGrantInput): void {
  if (!isFamily(g.family) || !isPort(g.port) || !Number.isInteger(g.ttlSec) || g.ttlSec < 1) {
    throw new TumblerError('STORE_INVALID', 'malformed grant');
  }
}

export function checkEnrollInput(e: EnrollInput): void {
  if (e.createUser) {
    checkUserName(e.user);
    checkServices(e.createUser);
  }
  if (e.mode === 'add') checkDeviceName(e.device);
  checkDeviceKey(e.key);
  checkKdfShape(e.kdf);
  checkSequence(e.first);
}

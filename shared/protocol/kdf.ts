/**
 * Password → device key (AES-128) with scrypt (docs/protocol.md, "Key derivation").
 * Parameters travel in the enrollment bundle so they can be raised without a protocol change.
 */
import { TumblerError } from '../errors.js';
import { ScryptParams, scryptKey } from '../crypto/index.js';
import { MIN_PASSWORD_CHARS } from './constants.js';

export { MIN_PASSWORD_CHARS };

export interface KdfParams extends ScryptParams {
  readonly salt: Buffer; // 16 random bytes per device
}

/** Default: N = 2^15, r = 8, p = 1 → 32 MiB and ~0.1 s per derivation here (bench/kdf). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 15, r: 8, p: 1 };
export const SALT_BYTES = 16;

/** The one password normalisation: NFC (the same characters typed on any system give the same key). */
export function normalizePassword(password: string): string {
  return password.normalize('NFC');
}

/** Length as the protocol counts it: Unicode code points of the NFC form (an emoji is one, "é" is one). */
export function passwordChars(password: string): number {
  return [...normalizePassword(password)].length;
}

/** Refuses a password shorter than MIN_PASSWORD_CHARS (KDF_WEAK_PASSWORD), on the client and the server alike. */
export function checkPasswordStrength(password: string): void {
  if (passwordChars(password) < MIN_PASSWORD_CHARS) {
    throw new TumblerError('KDF_WEAK_PASSWORD', `password must be at least ${MIN_PASSWORD_CHARS} characters`);
  }
}

/** Bounds a bundle may ask for: strong enough, and not a memory bomb for the client. */
export function checkKdfParams(k: KdfParams): void {
  const powerOfTwo = Number.isInteger(k.N) && k.N > 1 && (k.N & (k.N - 1)) === 0;
  if (!powerOfTwo || k.N < 1 << 14 || k.N > 1 << 20 || !Number.isInteger(k.r) || k.r < 8 || k.r > 32 ||
      !Number.isInteger(k.p) || k.p < 1 || k.p > 4 || k.salt.length !== SALT_BYTES || 128 * k.N * k.r > 1 << 30) {
    throw new TumblerError('KDF_BAD_PARAMS', 'scrypt parameters outside the accepted bounds');
  }
}

export async function deriveDeviceKey(password: string, k: KdfParams): Promise<Buffer> {
  checkKdfParams(k);
  checkPasswordStrength(password);
  return scryptKey(Buffer.from(normalizePassword(password), 'utf8'), k.salt, k);
}

/**
 * Password → device key (AES-128) with scrypt (docs/protocol.md, "Key derivation").
 * Parameters travel in the enrollment bundle so they can be raised without a protocol change.
 */
import { TumblerError } from '../errors.js';
import { ScryptParams, scryptKey } from '../crypto/index.js';

export interface KdfParams extends ScryptParams {
  readonly salt: Buffer; // 16 random bytes per device
}

/** Default: N = 2^15, r = 8, p = 1 → 32 MiB and ~0.1 s per derivation here (bench/kdf). */
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 15, r: 8, p: 1 };
export const SALT_BYTES = 16;
export const MIN_PASSWORD_CHARS = 12;

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
  if (password.length < MIN_PASSWORD_CHARS) throw new TumblerError('KDF_WEAK_PASSWORD', `password must be at least ${MIN_PASSWORD_CHARS} characters`);
  return scryptKey(Buffer.from(password.normalize('NFC'), 'utf8'), k.salt, k);
}

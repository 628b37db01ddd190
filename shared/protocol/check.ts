/**
 * Short keyed checks under the device key (docs/protocol.md §12): BUNDLE_CHECK_BITS of
 * HMAC-SHA256(deviceKey, label || input), written as lowercase hex. The bundle check covers the
 * bundle's fields (a mistyped password or a swapped bundle fails it at enrollment); the key check
 * covers nothing but its label (a profile keeping its key off disk checks a typed password with it).
 * Short on purpose: a check alone confirms no password (2^-12 of all wrong guesses pass it).
 */
import { constantTimeEqual, hmacSha256 } from '../crypto/index.js';
import { BUNDLE_CHECK_BITS, LABEL_KEY_CHECK } from './constants.js';

export const CHECK_HEX_DIGITS = BUNDLE_CHECK_BITS / 4; // 3
export const CHECK_RE = new RegExp(`^[0-9a-f]{${CHECK_HEX_DIGITS}}$`);

/** The first BUNDLE_CHECK_BITS of HMAC-SHA256(key, label || parts...), as hex. */
export function keyedCheck(deviceKey: Buffer, label: string, ...parts: Buffer[]): string {
  return hmacSha256(deviceKey, Buffer.from(label, 'utf8'), ...parts).toString('hex').slice(0, CHECK_HEX_DIGITS);
}

/** The profile's password check: tells a typed password from a wrong one (with 2^-12 misses). */
export function keyCheck(deviceKey: Buffer): string {
  return keyedCheck(deviceKey, LABEL_KEY_CHECK);
}

/** Constant-time equality of two check strings. */
export function checksEqual(a: string, b: string): boolean {
  return constantTimeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

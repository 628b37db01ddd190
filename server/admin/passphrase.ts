/**
 * Generated passphrases (the default for a new device's password): 24 characters from a 32-symbol alphabet without
 * look-alikes (no l, o, 0, 1), so 120 bits of entropy, in six groups of four for reading aloud:
 * "k7qm-x3ta-...". Each symbol is 5 bits of a random byte (256 is a multiple of 32: no bias).
 */
import { randomBytes } from 'node:crypto';

export const PASSPHRASE_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
export const PASSPHRASE_SYMBOLS = 24;
export const PASSPHRASE_GROUP = 4;
/** Entropy in bits: PASSPHRASE_SYMBOLS x log2(32). */
export const PASSPHRASE_BITS = PASSPHRASE_SYMBOLS * 5;

export function generatePassphrase(random: (n: number) => Buffer = randomBytes): string {
  const bytes = random(PASSPHRASE_SYMBOLS);
  let out = '';
  for (let i = 0; i < PASSPHRASE_SYMBOLS; i++) {
    if (i > 0 && i % PASSPHRASE_GROUP === 0) out += '-';
    out += PASSPHRASE_ALPHABET[bytes[i]! & 31];
  }
  bytes.fill(0);
  return out;
}

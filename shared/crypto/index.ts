/**
 * The one crypto module: AES-128 (one block), AES-128-GCM, HMAC-SHA256 via node-forge; scrypt and
 * constant-time comparison via node:crypto (forge has neither a memory-hard KDF nor a timing-safe
 * compare). Buffers in, Buffers out; forge's binary strings stay inside this file.
 *
 * Only the forge modules used here are loaded (its index loads every module, RSA, TLS, PKI…, and
 * costs about half a bare Node start): the shared `forge` object, then AES (with the cipher and
 * GCM modes), HMAC and SHA-256, which register themselves on it. types/node-forge-lib.d.ts types them.
 */
import forge from 'node-forge/lib/forge.js';
import 'node-forge/lib/aes.js';
import 'node-forge/lib/hmac.js';
import 'node-forge/lib/sha256.js';
import { scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { TumblerError } from '../errors.js';

const bin = (b: Buffer): string => b.toString('latin1');
const buf = (s: string): Buffer => Buffer.from(s, 'latin1');

/** HMAC-SHA256 over the concatenation of `parts`. */
export function hmacSha256(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = forge.hmac.create();
  h.start('sha256', bin(key));
  for (const p of parts) h.update(bin(p));
  return buf(h.digest().getBytes());
}

/** AES-128 encryption of exactly one 16-byte block (no mode, no padding): a PRF/keystream block. */
export function aesEncryptBlock(key: Buffer, block: Buffer): Buffer {
  if (key.length !== 16 || block.length !== 16) throw new TumblerError('CRYPTO_BAD_INPUT', 'AES-128 needs a 16-byte key and block');
  const c = forge.cipher.createCipher('AES-ECB', bin(key));
  c.start();
  c.update(forge.util.createBuffer(bin(block)));
  // no padding: we encrypt exactly one block (forge's typings omit finish's pad callback)
  (c.finish as unknown as (pad: () => boolean) => boolean)(() => true);
  return buf(c.output.getBytes());
}

/** AES-128-GCM seal: returns ciphertext || 16-byte tag. */
export function gcmSeal(key: Buffer, nonce: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const c = forge.cipher.createCipher('AES-GCM', bin(key));
  c.start({ iv: bin(nonce), additionalData: bin(aad), tagLength: 128 });
  c.update(forge.util.createBuffer(bin(plaintext)));
  c.finish();
  return Buffer.concat([buf(c.output.getBytes()), buf(c.mode.tag.getBytes())]);
}

/** AES-128-GCM open of ciphertext || tag; throws CRYPTO_AUTH when the tag does not verify. */
export function gcmOpen(key: Buffer, nonce: Buffer, aad: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < 16) throw new TumblerError('CRYPTO_AUTH', 'sealed data too short');
  const ct = sealed.subarray(0, sealed.length - 16);
  const tag = sealed.subarray(sealed.length - 16);
  const d = forge.cipher.createDecipher('AES-GCM', bin(key));
  d.start({ iv: bin(nonce), additionalData: bin(aad), tagLength: 128, tag: forge.util.createBuffer(bin(tag)) });
  d.update(forge.util.createBuffer(bin(ct)));
  if (!d.finish()) throw new TumblerError('CRYPTO_AUTH', 'authentication failed');
  return buf(d.output.getBytes());
}

/** Constant-time equality; different lengths compare unequal without leaking where they differ. */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Subkey for one purpose: HMAC-SHA256(deviceKey, label), truncated to 16 bytes. */
export function subkey(deviceKey: Buffer, label: string): Buffer {
  return hmacSha256(deviceKey, Buffer.from(label, 'utf8')).subarray(0, 16);
}

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** scrypt(password, salt) → 16-byte AES-128 key. Async: 32 MiB and ~0.1 s must not block the loop. */
export function scryptKey(password: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const maxmem = 128 * params.N * params.r * 2 + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, 16, { N: params.N, r: params.r, p: params.p, maxmem }, (err, key) => {
      if (err) reject(new TumblerError('CRYPTO_KDF', `scrypt failed: ${err.message}`));
      else resolve(key);
    });
  });
}

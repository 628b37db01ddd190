/**
 * A mistyped password that the 12-bit key check is certain to reject. A random typo passes the
 * check with odds 2^-12 (docs/protocol.md §11): a test that asserts "wrong password" must not fail
 * once in 4,096 runs, so it takes the first of a few typos whose check really differs.
 */
import { bundleCheckMatches, decodeBundle } from '../../shared/protocol/bundle.js';
import { checksEqual, keyCheck } from '../../shared/protocol/check.js';
import { deriveDeviceKey, type KdfParams } from '../../shared/protocol/kdf.js';

const TYPOS = (p: string): string[] => [`${p}x`, `x${p}`, `${p}yy`, `${p.slice(1)}z`, `${p}!`, `zz${p}`];

async function firstRejected(password: string, rejected: (candidate: string) => Promise<boolean>): Promise<string> {
  for (const t of TYPOS(password)) if (await rejected(t)) return t;
  throw new Error('every typo passed the key check (odds 2^-72): look at the check');
}

/** A typo of `password` that the bundle's keyed check rejects at enroll. */
export function typoRejectedByBundle(password: string, bundleText: string): Promise<string> {
  const b = decodeBundle(bundleText);
  return firstRejected(password, async (t) => !bundleCheckMatches(await deriveDeviceKey(t, b.kdf), b));
}

/** A typo of `password` that a profile's key check (its kdf and keyCheck fields) rejects at unlock/open. */
export function typoRejectedByProfile(password: string, profile: { kdf: { salt: string; N: number; r: number; p: number }; keyCheck: string }): Promise<string> {
  const kdf: KdfParams = { salt: Buffer.from(profile.kdf.salt, 'base64'), N: profile.kdf.N, r: profile.kdf.r, p: profile.kdf.p };
  return firstRejected(password, async (t) => !checksEqual(keyCheck(await deriveDeviceKey(t, kdf)), profile.keyCheck));
}

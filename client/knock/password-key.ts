/**
 * A profile's device key from a typed password: derived with the profile's own KDF parameters and
 * checked at once against the profile's key check (docs/protocol.md §12), so a mistyped password
 * is PASSWORD_WRONG here, not a silent server later. Used by `open`/`proxy` (a key kept off disk)
 * and by `unlock` (before the key goes to the agent).
 */
import { TumblerError } from '../../shared/errors.js';
import { checksEqual, keyCheck } from '../../shared/protocol/check.js';
import { deriveDeviceKey } from '../../shared/protocol/kdf.js';
import type { Profile } from '../state/schema.js';

export async function keyForPassword(p: Profile, password: string): Promise<Buffer> {
  const key = await deriveDeviceKey(password, { salt: Buffer.from(p.kdf.salt, 'base64'), N: p.kdf.N, r: p.kdf.r, p: p.kdf.p });
  if (p.keyCheck !== undefined && !checksEqual(keyCheck(key), p.keyCheck)) {
    key.fill(0);
    throw new TumblerError('PASSWORD_WRONG', `wrong password for profile "${p.name}": type it again, exactly as at enrollment`);
  }
  return key;
}

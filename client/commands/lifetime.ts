/**
 * `--timeout` of `tumbler agent` and `tumbler unlock`: how long a key stays unlocked, typed as
 * "90s", "30m", "8h", "2d" (up to the keyring's maximum), or "none" (until locked).
 */
import { durationMs } from '../../shared/duration.js';
import { TumblerError } from '../../shared/errors.js';
import { DEFAULT_LIFETIME } from '../agent/defaults.js';
import { MAX_LIFETIME_SEC } from '../agent/keyring.js';

/** Seconds (0 = until locked); `undefined` is the default. Throws USAGE on anything else. */
export function lifetimeSec(text: string | undefined, fallback: string = DEFAULT_LIFETIME): number {
  const t = text ?? fallback;
  if (t === 'none') return 0;
  const ms = durationMs(t);
  if (ms === null || ms < 1000 || ms > MAX_LIFETIME_SEC * 1000) {
    throw new TumblerError('USAGE', `--timeout must be a duration like 90s, 30m, 8h, 7d (at most ${MAX_LIFETIME_SEC / 86_400} d) or "none"`);
  }
  return Math.floor(ms / 1000);
}

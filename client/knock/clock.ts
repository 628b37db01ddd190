/**
 * Clock reasoning for the knock timestamp (docs/protocol.md §4, §10). The knock's time is
 * `floor((local now + stored offset) / 1000)`. Two signs that the local clock is far off, used to
 * explain a knock that got no reply (exit 6 rather than 5): the local clock reads earlier than this
 * profile's last save by more than a minute (it stepped back since, so the stored offset is stale),
 * or the last reply showed local and server clocks more than a minute apart.
 */
import type { Profile } from '../state/schema.js';

export const CLOCK_TOLERANCE_MS = 60_000;
/** A stored offset at least this large also gets one round of knocks with the local clock as is. */
export const OFFSET_FALLBACK_MS = 10_000;

/** Why the clock looks wrong (a short human reason), or null when nothing suggests it. */
export function clockDoubt(p: Pick<Profile, 'updatedAt' | 'clockOffsetMs'>, nowMs: number): string | null {
  const behind = p.updatedAt - nowMs;
  if (behind > CLOCK_TOLERANCE_MS) {
    return `the local clock reads ${Math.round(behind / 1000)} s earlier than at this profile's last update`;
  }
  if (Math.abs(p.clockOffsetMs) > CLOCK_TOLERANCE_MS) {
    const dir = p.clockOffsetMs > 0 ? 'behind' : 'ahead of';
    return `at the last reply the local clock was ${Math.round(Math.abs(p.clockOffsetMs) / 1000)} s ${dir} the server's`;
  }
  return null;
}

/** Clock offsets to knock with, in order: the stored one; then none, when the stored one is large. */
export function offsetsToTry(storedOffsetMs: number): number[] {
  return Math.abs(storedOffsetMs) >= OFFSET_FALLBACK_MS ? [storedOffsetMs, 0] : [storedOffsetMs];
}

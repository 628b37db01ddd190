/**
 * Durations as people type them: "45s", "30m", "8h", "7d", "1w" (a count and a unit), shared by
 * the admin CLI's relative ages (`tumblerd audit --since 1h`) and the client's key lifetimes
 * (`tumbler unlock --timeout 8h`).
 */

export const DURATION_UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const DURATION = /^(\d{1,9})([smhdw])$/;

/** Milliseconds of "<count><unit>", or null when `text` is not of that form. */
export function durationMs(text: string): number | null {
  const m = DURATION.exec(text.trim());
  return m ? Number(m[1]) * DURATION_UNIT_MS[m[2]!]! : null;
}

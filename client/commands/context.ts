/**
 * What every command shares: where profiles live, and small output helpers (time formatting,
 * writing human text or JSON). No secrets pass through here.
 */
import { profilesDir } from '../state/paths.js';

export function profileDir(env: NodeJS.ProcessEnv = process.env): string {
  return profilesDir({ env });
}

export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Local wall-clock time HH:MM:SS of a Unix-ms instant. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Local date and time "YYYY-MM-DD HH:MM:SS". */
export function dateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clockTime(ms)}`;
}

export { duration } from '../knock/clock.js';

/**
 * A grant's expiry (server-clock Unix seconds) in local terms: the local instant it ends and the
 * seconds left, corrected by the clock offset (server − local).
 */
export function grantTiming(expiresAtSec: number, clockOffsetMs: number, nowMs: number): { localEndMs: number; leftSec: number } {
  const localEndMs = expiresAtSec * 1000 - clockOffsetMs;
  return { localEndMs, leftSec: Math.max(0, Math.round((localEndMs - nowMs) / 1000)) };
}

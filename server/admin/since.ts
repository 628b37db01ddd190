/**
 * `--since` for `tumblerd audit`: a relative age ("90s", "15m", "1h", "2d", "1w") or an ISO 8601
 * date / date-time ("2025-01-31", "2025-01-31T12:00:00Z"). Returns epoch milliseconds.
 */
import { TumblerError } from '../../shared/errors.js';

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseSince(text: string, now: number): number {
  const rel = /^(\d{1,9})([smhdw])$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (ISO.test(text.trim())) {
    const t = Date.parse(text.trim());
    if (Number.isFinite(t)) return t;
  }
  throw new TumblerError('USAGE', `--since "${text}" is neither an age like 1h, 30m, 7d nor an ISO date like 2025-01-31T12:00:00Z`);
}

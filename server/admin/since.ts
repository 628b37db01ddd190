/**
 * `--since` for `tumblerd audit`: a relative age ("90s", "15m", "1h", "2d", "1w") or an ISO 8601
 * date / date-time ("2025-01-31", "2025-01-31T12:00:00Z"). Returns epoch milliseconds.
 */
import { durationMs } from '../../shared/duration.js';
import { TumblerError } from '../../shared/errors.js';

const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseSince(text: string, now: number): number {
  const age = durationMs(text);
  if (age !== null) return now - age;
  if (ISO.test(text.trim())) {
    const t = Date.parse(text.trim());
    if (Number.isFinite(t)) return t;
  }
  throw new TumblerError('USAGE', `--since "${text}" is neither an age like 1h, 30m, 7d nor an ISO date like 2025-01-31T12:00:00Z`);
}

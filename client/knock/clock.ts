/**
 * Clock reasoning for knocks (docs/protocol.md §5, §9, §10). A knock's or probe's second is
 * `floor((local now + offset) / 1000)`, where the offset (server − local, ms) comes from the last
 * reply; every new knock on a sequence carries a strictly later second than any knock on it the
 * server may have accepted, across tries, gateways, families and runs (the profile keeps the
 * floor), and likewise every new probe for probes.
 * An address report (a probe's answer) measures the offset afresh; `clockVerdict` decides whether
 * the stored offset still holds, whether the local clock was set right since (use the fresh
 * offset), or whether the local clock is too far off to knock at all (the clock error).
 */
import { MAX_TIMESTAMP_WINDOW_SEC, PROBE_WINDOW_SEC } from '../../shared/protocol/constants.js';
import type { Profile } from '../state/schema.js';

/** Slack kept below the server's window: whole seconds on the wire, and the time a packet travels. */
export const WINDOW_MARGIN_MS = 1500;
/** Silent server and a local clock this much earlier than the profile's last save: say it is the clock. */
export const CLOCK_TOLERANCE_MS = 60_000;

export type SendKind = 'knock' | 'probe';

interface Sent {
  readonly kind: SendKind;
  readonly sec: number;
  readonly localMs: number;
}

/**
 * Seconds for the knocks and probes of one run on one sequence. The server remembers seconds per
 * kind: a knock that consumed the sequence (a recovery needs a newer one, §9c) and the last probe
 * it answered (a probe needs a newer one, §8); so each kind gets a floor, and every new send goes
 * strictly above it. A second the server cannot have accepted (outside its window, judged with the
 * current offset: a send made with a stale offset, found out by a probe's answer) does not raise
 * the floor, so a corrected clock is not pushed back out of the window.
 */
export class KnockClock {
  private windowSec: number | null = null;
  /** The offset a probe's answer measured: the truth about the local clock, even when it is off. */
  private measuredMs: number | null = null;
  private readonly sent: Sent[] = [];

  /** `offsetMs`: server − local, used for new seconds (a probe's answer may reset it); `initial`: the floors kept from earlier runs. */
  constructor(private readonly now: () => number, public offsetMs: number,
    private readonly initial: { readonly knock?: number; readonly probe?: number } = {}) {}

  /**
   * What a probe's answer showed: the server's clock (measured offset) and knock window. From then
   * on, which earlier seconds the server may have recorded is judged with that clock (until then
   * with the offset in use, and the largest window a server may have).
   */
  calibrate(measuredMs: number, windowSec: number): void {
    this.measuredMs = measuredMs;
    this.windowSec = windowSec;
  }

  private windowOf(kind: SendKind): number {
    const w = this.windowSec ?? MAX_TIMESTAMP_WINDOW_SEC;
    return kind === 'probe' ? Math.max(w, PROBE_WINDOW_SEC) : w;
  }

  /** The highest second of `kind` the server may have recorded on this sequence (-1: none). */
  floor(kind: SendKind): number {
    const slackMs = (this.windowOf(kind) + 1) * 1000;
    const serverOffset = this.measuredMs ?? this.offsetMs;
    const init = this.initial[kind];
    let f = init !== undefined && init * 1000 <= this.now() + serverOffset + slackMs ? init : -1;
    for (const s of this.sent) {
      if (s.kind === kind && Math.abs(s.sec * 1000 - (s.localMs + serverOffset)) <= slackMs) f = Math.max(f, s.sec);
    }
    return f;
  }

  /** The second for a new knock or probe: the corrected clock, but strictly above the floor of its kind. */
  next(kind: SendKind): number {
    const localMs = this.now();
    const sec = Math.max(Math.floor((localMs + this.offsetMs) / 1000), this.floor(kind) + 1);
    this.sent.push({ kind, sec, localMs });
    return sec;
  }
}

/** Whether a clock difference (ms) fits the server's timestamp window (seconds), with the margin. */
export function fitsWindow(diffMs: number, windowSec: number): boolean {
  return Math.abs(diffMs) <= Math.max(0, windowSec * 1000 - WINDOW_MARGIN_MS);
}

export type ClockVerdict =
  | { readonly kind: 'keep' } // the stored offset still fits the window
  | { readonly kind: 'reset'; readonly offsetMs: number } // the local clock was set right since: use the measured offset
  | { readonly kind: 'off'; readonly offsetMs: number }; // the local clock is too far from the server's: the clock error

/** What a freshly measured offset (server − local, ms) means for knocking with the stored one. */
export function clockVerdict(measuredMs: number, storedMs: number, windowSec: number): ClockVerdict {
  if (fitsWindow(measuredMs - storedMs, windowSec)) return { kind: 'keep' };
  if (fitsWindow(measuredMs, windowSec)) return { kind: 'reset', offsetMs: measuredMs };
  return { kind: 'off', offsetMs: measuredMs };
}

/** Why the clock looks wrong when nothing answered (a short human reason), or null when nothing suggests it. */
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

/** "42 s", "5 min", "3 h", "2 d" (of a duration in ms, sign ignored). */
export function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

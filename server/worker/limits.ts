/** Implementation limits of the worker (not protocol constants): named once, checked before allocating. */
export const LIMITS = {
  /** Pending knock packets kept per source address. A knock needs 3; the rest absorb spoofs and retransmits. */
  pendingPerSource: 8,
  /** Source addresses with pending packets, in total. Oldest activity is evicted first. */
  pendingSources: 65_536,
  /** A pending packet older than this is dropped: a knock's three SYNs leave back to back. */
  pendingTtlMs: 3_000,
  /** MAC failures evaluated per sequence per second; further candidates skip crypto (brute-force damper). */
  macFailuresPerSequencePerSec: 8,
  /** Identical retransmits answered per sequence per second. */
  resendsPerSequencePerSec: 3,
  /** Audit rows for rejected knocks of known sequences, per reason per second. */
  rejectAuditsPerSec: 20,
  /** Sequences tracked by the MAC-failure limiter. */
  macLimiterEntries: 16_384,
  /** Knocks in flight (waiting for the monitor) at once. */
  inFlight: 1_024,
  /** Log lines per event name per second under flood; the rest are counted and summarised. */
  logLinesPerEventPerSec: 20,
  /** How often the per-packet filter is rebuilt from the store and close requests re-checked, push or not (ms). */
  filterRebuildMs: 60_000,
} as const;

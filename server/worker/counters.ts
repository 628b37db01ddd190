/**
 * The worker's counters, in one place (frames, rejects by reason, grants, failures by code), so
 * they can be logged on SIGUSR1 and published later. Names are dotted: `reject.REPLAY`.
 */
export class Counters {
  readonly values: Record<string, number> = {};

  count(name: string, n = 1): void {
    this.values[name] = (this.values[name] ?? 0) + n;
  }

  get(name: string): number {
    return this.values[name] ?? 0;
  }
}

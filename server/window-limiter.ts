/**
 * Fixed-window counters per key with a bounded number of keys (oldest evicted). Used to damp MAC
 * failures per sequence and log lines per event under flood.
 */
export class WindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly perWindow: number, private readonly windowMs: number, private readonly maxKeys: number) {}

  /** True when `key` is still under its allowance in the current window (does not count). */
  allowed(key: string, nowMs: number): boolean {
    const w = this.windows.get(key);
    return !w || nowMs - w.start >= this.windowMs || w.count < this.perWindow;
  }

  /** Count one event for `key`; returns true if it was within the allowance. */
  hit(key: string, nowMs: number): boolean {
    let w = this.windows.get(key);
    if (!w || nowMs - w.start >= this.windowMs) {
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value as string);
      w = { start: nowMs, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    return w.count <= this.perWindow;
  }

  get size(): number {
    return this.windows.size;
  }
}

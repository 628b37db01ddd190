/** Waiting for a condition in tests and benchmarks: one poll loop instead of a hand-written one per wait. */

/** Polls `cond` every `everyMs` until it holds or `ms` pass; returns whether it held (callers assert after). */
export async function until(cond: () => boolean, ms = 5000, everyMs = 20): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return cond();
}

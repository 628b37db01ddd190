/**
 * What the monitor does the same way for each child it keeps (the worker, the metrics exporter):
 * wait longer after each quick death, forget the count once a child has lived a while, and stop a
 * child with SIGTERM then SIGKILL.
 */
import type { ChildProcess } from 'node:child_process';

/** A child that lived this long before dying starts the backoff over. */
export const STABLE_MS = 60_000;
/** SIGTERM, then SIGKILL after this long. */
export const STOP_GRACE_MS = 3_000;

export class RestartBackoff {
  private restarts = 0;

  constructor(private readonly delaysMs: readonly number[]) {
    if (delaysMs.length === 0) throw new RangeError('RestartBackoff needs at least one delay');
  }

  /** The wait before restarting a child that started at `startedAt` and has just died. */
  next(startedAt: number, now = Date.now()): number {
    if (now - startedAt > STABLE_MS) this.restarts = 0;
    return this.delaysMs[Math.min(this.restarts++, this.delaysMs.length - 1)]!;
  }
}

/** Resolves when `c` has exited: at once if it already has, else after SIGTERM (SIGKILL past the grace). */
export function stopChild(c: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), graceMs).unref();
  });
}

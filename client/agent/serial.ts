/**
 * One task at a time per key (the agent's per-profile knock queue): a profile's one-time sequence
 * is used by one knock at a time, in arrival order; other profiles proceed in parallel. (Other
 * processes on the same profile are kept out by the profile's file lock, client/state/lock.ts.)
 */
export class SerialQueues {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** Keys with a task queued or running. */
  get busy(): number {
    return this.tails.size;
  }
}

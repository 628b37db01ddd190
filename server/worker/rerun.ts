/**
 * One run of a task at a time; a request that arrives while it runs gets one more run after it
 * (the running one may have read the store before the change that prompted the request). Used for
 * the pre-filter rebuild and for closing requested grants.
 */
export class Rerun<T> {
  private running: Promise<T> | null = null;
  private again = false;

  constructor(private readonly task: () => Promise<T>) {}

  run(): Promise<T> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        let r: T;
        do {
          this.again = false;
          r = await this.task();
        } while (this.again);
        return r;
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }
}

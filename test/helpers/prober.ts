/**
 * A TCP prober for "the port is silent again within N ms" checks: a child process (started in the
 * namespace of the test's choosing) that connects to host:port over and over — a new connection
 * every few ms, each given a short time to answer — and prints when each attempt started and what
 * came of it. `window()` then says whether a connection still got through after `since + budget`
 * and whether every attempt from then on was silent. The child is bounded in time by itself.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export type AttemptStatus = 'connected' | 'refused' | 'timeout' | 'error';

export interface Attempt {
  readonly t: number; // Date.now() when connect() was called
  readonly status: AttemptStatus;
}

/** The prober program: `node -e PROBER_JS host port answerMs gapMs lifetimeMs`. */
const PROBER_JS = `
const net = require('net');
const [host, port, answerMs, gapMs, lifeMs] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
setTimeout(() => process.exit(0), lifeMs);
function attempt() {
  const t = Date.now();
  let done = false;
  const s = net.connect({ host, port });
  const fin = (status) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    s.destroy();
    process.stdout.write(JSON.stringify({ t, status }) + '\\n');
    setTimeout(attempt, gapMs);
  };
  const timer = setTimeout(() => fin('timeout'), answerMs);
  s.on('connect', () => fin('connected'));
  s.on('error', (e) => fin(e.code === 'ECONNREFUSED' ? 'refused' : 'error'));
}
attempt();
`;

/** argv (after the namespace prefix) that runs the prober. */
export function proberArgv(host: string, port: number, o: { answerMs?: number; gapMs?: number; lifetimeMs?: number } = {}): string[] {
  return [process.execPath, '-e', PROBER_JS, host, String(port), String(o.answerMs ?? 250), String(o.gapMs ?? 20), String(o.lifetimeMs ?? 60_000)];
}

export interface OpenWindow {
  /** Start of the last attempt after `since` that connected (null: none did). */
  readonly lastOpenAt: number | null;
  /** Attempts started at or after `since + budgetMs`. */
  readonly attemptsAfter: number;
  /** Whether every one of them got no answer at all (dropped, not refused). */
  readonly silentAfter: boolean;
}

export class Prober {
  private readonly attempts: Attempt[] = [];

  constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.attempts.push(JSON.parse(line) as Attempt);
      } catch { /* not ours */ }
    });
  }

  /** Attempts so far. */
  get all(): readonly Attempt[] {
    return this.attempts;
  }

  /**
   * Wait (bounded by `maxWaitMs`) until at least `settle` attempts have started after
   * `since + budgetMs`, then report the window in which the port still answered.
   */
  async window(sinceMs: number, budgetMs: number, o: { settle?: number; maxWaitMs?: number } = {}): Promise<OpenWindow> {
    const settle = o.settle ?? 5;
    const until = Date.now() + (o.maxWaitMs ?? 30_000);
    const cut = sinceMs + budgetMs;
    for (;;) {
      const after = this.attempts.filter((a) => a.t >= cut);
      if (after.length >= settle || Date.now() > until || this.child.exitCode !== null) {
        const open = this.attempts.filter((a) => a.t >= sinceMs && a.status === 'connected');
        return { lastOpenAt: open.at(-1)?.t ?? null, attemptsAfter: after.length, silentAfter: after.every((a) => a.status === 'timeout') };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  stop(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch { /* gone */ }
    }
  }
}

/**
 * The monitor's parts wired together: the firewall (installed, its grants taken over into the
 * monitor's own record), the drift guard watching it, and the supervised worker. Used by
 * `tumblerd run` (run.ts) and by tests, which point the firewall at a network namespace.
 */
import type { TumblerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { createCounters, type MonitorCounters } from './counters.js';
import { createFirewall } from './firewall/backend.js';
import { DEFAULT_TABLE, type FirewallBackend, type FirewallOptions } from './firewall/types.js';
import { GrantBook } from './grant-book.js';
import { FirewallGuard, installOrReplace, type GuardTimings } from './guard.js';
import { Supervisor, type SupervisorOptions } from './supervisor.js';

export interface MonitorOptions {
  readonly config: TumblerConfig;
  readonly configText: string;
  readonly log: Logger;
  readonly firewall?: FirewallOptions;
  readonly guard?: { readonly events?: boolean; readonly timings?: Partial<GuardTimings> };
  readonly worker?: Pick<SupervisorOptions, 'workerArgv' | 'backoffMs' | 'onFatal' | 'stateFile'>;
  readonly now?: () => number;
}

export interface Monitor {
  readonly firewall: FirewallBackend;
  readonly book: GrantBook;
  readonly counters: MonitorCounters;
  readonly guard: FirewallGuard;
  readonly supervisor: Supervisor;
  /** Stop the worker and the guard, end the firewall sessions; the kernel keeps table and grants. */
  stop(): Promise<void>;
}

/** Install the firewall, start guarding it, and hand the worker to the supervisor (run.ts starts it). */
export async function startMonitor(o: MonitorOptions): Promise<Monitor> {
  const now = o.now ?? Date.now;
  const counters = createCounters(now);
  const book = new GrantBook(undefined, counters.grants);
  const firewall = createFirewall(o.config, o.firewall);
  // 1. Grants already in the kernel (a restart of tumblerd) become ours to guard.
  book.load(await firewall.list(), now());
  // 2. Our table, chains and rules; replaced whole if another tool altered them past updating.
  if (await installOrReplace(firewall)) await firewall.openMany(book.live(now()));
  // 3. Watch it.
  const guard = new FirewallGuard({
    firewall, book, counters, log: o.log, backend: o.config.firewall, table: o.firewall?.table ?? DEFAULT_TABLE,
    ...(o.firewall?.commandPrefix && { commandPrefix: o.firewall.commandPrefix }),
    ...(o.guard?.events !== undefined && { events: o.guard.events }),
    ...(o.guard?.timings && { timings: o.guard.timings }),
    now,
  });
  guard.start();
  const supervisor = new Supervisor({
    config: o.config, configText: o.configText, firewall, log: o.log, book, counters,
    restoreFirewall: () => guard.restoreNow(),
    ...o.worker,
  });
  return {
    firewall, book, counters, guard, supervisor,
    async stop() {
      await supervisor.stop();
      await guard.stop();
      await firewall.dispose();
    },
  };
}

/**
 * `tumblerd run`: the privileged monitor's start-up. Takes the config as parsed (and its text, to
 * hand to the worker), prepares the state directory for the worker's user, installs and guards
 * the firewall table, starts and supervises the worker, publishes its state next to the pid file
 * (for `tumblerd status` and the metrics) and, when [metrics] listen is set, starts the
 * unprivileged exporter.
 */
import { chownSync, existsSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TumblerError } from '../../shared/errors.js';
import type { TumblerConfig } from '../config/types.js';
import { requireWorkerAccount } from '../account.js';
import { EXIT_CONFIG } from '../exit-codes.js';
import { createLogger } from '../log.js';
import { removeStateFile, statePaths } from '../state/file.js';
import type { MonitorCounters } from './counters.js';
import { ExporterProcess } from './exporter.js';
import { MonitorPublisher } from './publish.js';
import { startMonitor } from './start.js';
import { prepareWorkerStateDir } from './state-dir.js';

export const DEFAULT_PID_FILE = '/run/tumbler/tumblerd.pid';

/** Start the daemon; resolves once it runs, with the monitor's counters (for a later status task). */
export async function runDaemon(config: TumblerConfig, configText: string, pidFile = DEFAULT_PID_FILE): Promise<{ counters: MonitorCounters }> {
  // Unhandled, SIGUSR1 would open Node's inspector on 127.0.0.1 in a root process (any local user
  // could attach). Claim it at once; once the worker runs it gets the signal (it logs its counters).
  let forwardStats = (): void => undefined;
  process.on('SIGUSR1', () => forwardStats());
  if (process.getuid?.() !== 0) throw new TumblerError('RUN_NOT_ROOT', 'tumblerd run must start as root (it drops to the worker user itself)');
  const log = createLogger({ format: config.logFormat, component: 'monitor', perSec: 20 });
  const account = requireWorkerAccount(config.user);
  // The worker opens a SQLite database after its drop: its directory must be its own.
  const dir = config.store.backend === 'sqlite' ? dirname(config.store.path) : null;
  if (dir !== null && !existsSync(dir)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chownSync(dir, account.uid, account.gid);
    } catch (e) {
      throw new TumblerError('STORE_OPEN', `${config.file}: cannot create the database directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  // Published state next to the pid file: the worker's directory is its own (state-dir.ts).
  const paths = statePaths(pidFile);
  mkdirSync(dirname(pidFile), { recursive: true, mode: 0o755 });
  prepareWorkerStateDir(paths.workerDir, account);
  // The exporter's account is checked before anything starts (exit 2 when it does not exist).
  const exporter = config.metrics ? new ExporterProcess({ metrics: config.metrics, paths, workerUid: account.uid, log, logFormat: config.logFormat }) : null;
  // A worker that cannot start for a reason no restart fixes ends the daemon with exit 2 (systemd's
  // RestartPreventExitStatus=2); the firewall table stays, so the protected ports stay closed.
  let fatal = (): void => undefined;
  const monitor = await startMonitor({ config, configText, log, worker: { onFatal: () => fatal(), stateFile: paths.worker } });
  log.log('info', 'monitor.started', { firewall: config.firewall, pid: process.pid, grants: monitor.book.size });
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o644 });
  const publisher = new MonitorPublisher({
    file: paths.monitor, config, counters: monitor.counters, book: monitor.book, workerPid: () => monitor.supervisor.workerPid, log,
  });
  const stop = async (signal: string, exitCode = 0): Promise<void> => {
    log.log(exitCode ? 'error' : 'info', 'monitor.stopping', { signal });
    publisher.stop();
    await exporter?.stop();
    await monitor.stop();
    try {
      removeStateFile(paths.worker);
      rmdirSync(paths.workerDir); // only when empty: whatever else is there stays
    } catch { /* the worker's directory: whatever is there, status checks the pids */ }
    rmSync(pidFile, { force: true });
    process.exit(exitCode);
  };
  fatal = () => void stop('worker-config-error', EXIT_CONFIG);
  monitor.supervisor.start();
  publisher.start();
  exporter?.start();
  forwardStats = () => {
    const pid = monitor.supervisor.workerPid;
    try {
      if (pid) process.kill(pid, 'SIGUSR1');
    } catch { /* the worker is restarting */ }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  return { counters: monitor.counters };
}

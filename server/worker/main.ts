/**
 * The unprivileged worker process. Started by the monitor as root with the monitor channel on
 * fd 3; it opens its captures and raw sockets (and reads the PostgreSQL password file), drops to
 * the configured user for good, proves it holds no privilege, and only then opens the store and
 * reads packets. A store that cannot be reached at start-up is retried, not a reason to exit: the
 * monitor would only restart us into the same wait.
 */
import type { IpFamily } from '../../shared/net/address.js';
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { isIP } from 'node:net';
import { isTumblerError } from '../../shared/errors.js';
import { createLogger, type Logger } from '../log.js';
import { openStore, type OpenedStore, type OpenStoreOptions } from '../store/open.js';
import { readPasswordFile } from '../store/postgres/password-file.js';
import type { TumblerConfig } from '../config/types.js';
import { knockFilter, openCapture, type CaptureHandle, type LinkType } from './capture.js';
import { KnockService } from './knock-service.js';
import { LIMITS } from './limits.js';
import { MonitorClient } from './monitor-client.js';
import { readInheritedConfig } from './inherited-config.js';
import { dropPrivileges, hardenBeforeDrop } from './privileges.js';
import { requireWorkerAccount } from '../account.js';
import { EXIT_CONFIG, EXIT_PRIVSEP, EXIT_RUNTIME, exitCodeFor } from '../exit-codes.js';
import { WorkerPublisher, type PcapCounts } from './publish.js';
import { ReplySender } from './reply-sender.js';
import { STORE_LOG_INTERVAL_MS } from './store-health.js';
import { escapeControl } from '../escape.js';

// Node opens its inspector (a debugger on 127.0.0.1:9229) on SIGUSR1 when nothing handles the
// signal: claim it before anything else. It logs the counters once the service runs.
let onStatsSignal = (): void => undefined;
process.on('SIGUSR1', () => onStatsSignal());

async function main(): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const configPath = arg('--config');
  const configFd = Number(arg('--config-fd'));
  const stateFile = arg('--state-file'); // where to publish (server/state/file.ts); set by the monitor
  if (!configPath || !Number.isInteger(configFd) || configFd < 3) {
    process.stderr.write('tumblerd worker: --config FILE --config-fd N are required (started by `tumblerd run`)\n');
    process.exit(EXIT_CONFIG);
  }
  // The monitor's own copy of the config, never the file: both run one config (inherited-config.ts).
  const config = await readInheritedConfig(configFd, configPath);
  const log = createLogger({ format: config.logFormat, component: 'worker', perSec: LIMITS.logLinesPerEventPerSec });

  // 1. Privileged set-up: captures and raw sockets only. Packets queue in the kernel until the
  //    handler below exists, so none is parsed before the drop.
  let service: KnockService | null = null;
  const early: Array<[Buffer, LinkType, number]> = [];
  const onFrame = (frame: Buffer, linkType: LinkType, tsMs: number): void => {
    if (service) service.onFrame(frame, linkType, tsMs);
    else if (early.length < 64) early.push([Buffer.from(frame), linkType, tsMs]);
  };
  const filter = knockFilter(config.addresses, config.knockPorts);
  const captures: CaptureHandle[] = config.interfaces.map((iface) => openCapture(iface, filter, onFrame));
  const families = [...new Set(config.addresses.map((a) => (isIP(a) === 6 ? 6 : 4) as IpFamily))];
  const replies = new ReplySender(families, randomBytes);
  const account = requireWorkerAccount(config.user);
  const password = config.store.backend === 'postgres' && config.store.passwordFile !== undefined
    ? readPasswordFile(config.store.passwordFile, account.uid)
    : undefined;

  // 2. Lock the capture filters, set no_new_privs, drop for good and prove it (uid != 0,
  //    CapEff = CapPrm = 0, NoNewPrivs = 1), or exit.
  try {
    hardenBeforeDrop(captures.length);
    dropPrivileges(account);
  } catch (e) {
    log.log('error', 'privsep.failed', { code: isTumblerError(e) ? e.code : 'UNKNOWN' });
    process.exit(EXIT_PRIVSEP);
  }
  log.log('info', 'privsep.dropped', { uid: account.uid, gid: account.gid });

  // 3. Unprivileged from here: store, monitor channel, packets.
  const { store, migrated } = await openStoreWhenReachable(config, { password }, log);
  if (migrated.from !== migrated.to) log.log('info', 'store.migrated', { from: migrated.from, to: migrated.to });
  // Without its monitor the worker can grant nothing: a worker orphaned by a monitor killed with
  // SIGKILL exits instead of holding its capture and the daemon's pipes.
  const monitor = new MonitorClient(new Socket({ fd: 3, readable: true, writable: true }), () => {
    log.log('error', 'worker.monitor_gone', {});
    process.exit(EXIT_RUNTIME);
  });
  await monitor.hello();
  await monitor.reconcile(await store.liveGrants(Date.now())); // it sends only each grant's key

  service = new KnockService({ config, store, firewall: monitor, replies, log, now: Date.now, random: randomBytes });
  const startedAtMs = Date.now();
  const sequences = await service.rebuildFilter();
  store.watch(service); // sequences issued by other gateways, admin changes, close requests
  for (const [f, l, t] of early.splice(0)) service.onFrame(f, l, t);
  log.log('info', 'worker.ready', { interfaces: config.interfaces.join(','), sequences, gateway: config.fleet.gateway, store: config.store.backend });

  // 4. Backstop for anything a push missed: a full rebuild and the close requests, periodically.
  setInterval(() => service!.resync(), LIMITS.filterRebuildMs).unref();
  const pcapCounts = (): PcapCounts => captures.map((c) => c.stats())
    .reduce((a, s) => ({ received: a.received + s.received, dropped: a.dropped + s.dropped, ifDropped: a.ifDropped + s.ifDropped }), { received: 0, dropped: 0, ifDropped: 0 });
  const logStats = (): void => {
    const pcap = pcapCounts();
    log.log('info', 'worker.stats', { ...service!.counters.values, pcap_received: pcap.received, pcap_dropped: pcap.dropped, ...service!.pending });
  };
  setInterval(logStats, 60_000).unref();
  onStatsSignal = logStats; // counters on demand (operators, benchmarks)
  // 5. The state `tumblerd status` and the metrics exporter read, every second.
  if (stateFile) new WorkerPublisher({ file: stateFile, service, pcap: pcapCounts, backend: config.store.backend, startedAtMs, log }).start();

  const stop = (): void => {
    log.log('info', 'worker.stopping', {});
    process.exit(0); // kernel grants keep their own timeouts; established sessions are untouched
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * The store, retrying while it is unreachable (PostgreSQL down or failing over): one log line per
 * interval, and knocks queue in the kernel meanwhile. Any other error (bad schema, bad path) ends
 * the worker with its exit code.
 */
async function openStoreWhenReachable(config: TumblerConfig, o: OpenStoreOptions, log: Logger): Promise<OpenedStore> {
  let lastLog = -Infinity;
  let waitMs = 250;
  for (;;) {
    try {
      return await openStore(config, o);
    } catch (e) {
      if (!isTumblerError(e, 'STORE_UNAVAILABLE')) throw e;
      if (Date.now() - lastLog >= STORE_LOG_INTERVAL_MS) {
        log.log('error', 'store.unavailable', { code: e.code, during: 'start' });
        lastLog = Date.now();
      }
      await new Promise((r) => setTimeout(r, waitMs));
      waitMs = Math.min(waitMs * 2, 2_000);
    }
  }
}

main().catch((e: unknown) => {
  const code = isTumblerError(e) ? e.code : 'UNKNOWN';
  process.stderr.write(`tumblerd worker: ${escapeControl((e as Error).message)} (${code})\n`);
  // 2 tells the monitor that restarting cannot help (bad config, database path, worker user).
  process.exit(exitCodeFor(code) === EXIT_CONFIG ? EXIT_CONFIG : EXIT_RUNTIME);
});

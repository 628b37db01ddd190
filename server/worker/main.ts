/**
 * The unprivileged worker process. Started by the monitor as root with the monitor channel on
 * fd 3; it opens its captures and raw sockets, drops to the configured user for good, proves it
 * holds no privilege, and only then opens the database and reads packets.
 */
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { isIP } from 'node:net';
import { isTumblerError } from '../../shared/errors.js';
import { createLogger } from '../log.js';
import { openDatabase, migrate } from '../store/migrate.js';
import { SqliteStore } from '../store/store.js';
import { knockFilter, openCapture, type CaptureHandle, type LinkType } from './capture.js';
import { KnockService } from './knock-service.js';
import { LIMITS } from './limits.js';
import { MonitorClient } from './monitor-client.js';
import { readInheritedConfig } from './inherited-config.js';
import { dropPrivileges, hardenBeforeDrop } from './privileges.js';
import { requireWorkerAccount } from '../account.js';
import { exitCodeFor } from '../admin/exit.js';
import { ReplySender } from './reply-sender.js';

const EXIT_CONFIG = 2;
const EXIT_PRIVSEP = 3;
const EXIT_RUNTIME = 1;

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
  const families = [...new Set(config.addresses.map((a) => (isIP(a) === 6 ? 6 : 4) as 4 | 6))];
  const replies = new ReplySender(families, randomBytes);
  const account = requireWorkerAccount(config.user);

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

  // 3. Unprivileged from here: database, monitor channel, packets.
  const db = openDatabase(config.database);
  const m = migrate(db);
  if (m.from !== m.to) log.log('info', 'store.migrated', { from: m.from, to: m.to });
  const store = new SqliteStore(db, { now: Date.now, random: randomBytes });
  const monitor = new MonitorClient(new Socket({ fd: 3, readable: true, writable: true }));
  await monitor.hello();
  const live = store.liveGrants(Date.now()).map((g) => ({ family: g.family, address: g.address, port: g.port }));
  await monitor.reconcile(live);

  service = new KnockService({ config, store, firewall: monitor, replies, log, now: Date.now, random: randomBytes });
  for (const [f, l, t] of early.splice(0)) service.onFrame(f, l, t);
  log.log('info', 'worker.ready', { interfaces: config.interfaces.join(','), sequences: service.rebuildFilter() });

  // 4. Admin changes (disable, revoke, new devices) show up within LIMITS.adminPollMs.
  let dataVersion = store.dataVersion();
  let lastRebuild = Date.now();
  setInterval(() => {
    const v = store.dataVersion();
    if (v !== dataVersion || Date.now() - lastRebuild > LIMITS.filterRebuildMs) {
      dataVersion = v;
      lastRebuild = Date.now();
      service!.rebuildFilter();
    }
  }, LIMITS.adminPollMs).unref();
  const logStats = (): void => {
    const pcap = captures.map((c) => c.stats()).reduce((a, s) => ({ received: a.received + s.received, dropped: a.dropped + s.dropped }), { received: 0, dropped: 0 });
    log.log('info', 'worker.stats', { ...service!.counters, pcap_received: pcap.received, pcap_dropped: pcap.dropped, ...service!.pending });
  };
  setInterval(logStats, 60_000).unref();
  onStatsSignal = logStats; // counters on demand (operators, benchmarks)

  const stop = (): void => {
    log.log('info', 'worker.stopping', {});
    process.exit(0); // kernel grants keep their own timeouts; established sessions are untouched
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  const code = isTumblerError(e) ? e.code : 'UNKNOWN';
  process.stderr.write(`tumblerd worker: ${(e as Error).message} (${code})\n`);
  // 2 tells the monitor that restarting cannot help (bad config, database path, worker user).
  process.exit(exitCodeFor(code) === EXIT_CONFIG ? EXIT_CONFIG : EXIT_RUNTIME);
});

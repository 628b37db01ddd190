/**
 * The metrics exporter: a small unprivileged process that `tumblerd run` starts when [metrics]
 * listen is set (server/monitor/exporter.ts), as the [metrics] user. It proves it holds no
 * privilege (no_new_privs set here, uid non-zero, no capability), listens on a loopback address or
 * a Unix socket, and answers `GET /metrics` by reading what the monitor and the worker publish
 * (server/state/) and letting prom-client format it. It has no channel to the monitor, no capture,
 * no store: an exploited HTTP parser here reaches two world-readable JSON files.
 *
 * Arguments (from the monitor, trusted): --listen-host H --listen-port P | --listen-path F,
 * --monitor-state F, --worker-state F, --worker-uid N, --log-format json|text.
 * Exit: 0 on SIGTERM or when its parent (the monitor) is gone, 2 when it cannot listen there (not
 * restarted), 3 when it is still privileged.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isTumblerError } from '../../shared/errors.js';
import { setNoNewPrivs } from '../../shared/native/index.js';
import type { LogFormat } from '../config/types.js';
import { createLogger, type Logger } from '../log.js';
import { readStateFile } from '../state/file.js';
import { monitorStateShape, type MonitorState } from '../state/monitor-state.js';
import { workerStateShape, type WorkerState } from '../state/worker-state.js';
import { assertUnprivileged } from '../worker/privileges.js';
import { buildRegistry } from './registry.js';

const EXIT_LISTEN = 2;
const EXIT_PRIVILEGED = 3;
/** The monitor (root) writes its document; the worker's must be the worker's own. */
const MONITOR_UID = 0;

interface ExporterArgs {
  readonly listen: { readonly host: string; readonly port: number } | { readonly path: string };
  readonly monitorState: string;
  readonly workerState: string;
  readonly workerUid: number;
}

/** Read both documents; an unusable one counts in `errors` (by document and code) and reads as absent. */
function readStates(a: ExporterArgs, errors: Record<string, Record<string, number>>): { monitor: MonitorState | null; worker: WorkerState | null } {
  const read = <T>(document: string, f: () => T): T | null => {
    try {
      return f();
    } catch (e) {
      const code = isTumblerError(e) ? e.code : 'STATE_UNREADABLE';
      const byCode = (errors[document] ??= {});
      if (code !== 'STATE_MISSING') byCode[code] = (byCode[code] ?? 0) + 1;
      return null;
    }
  };
  return {
    monitor: read('monitor', () => readStateFile(a.monitorState, monitorStateShape, { ownerUid: MONITOR_UID })),
    worker: read('worker', () => readStateFile(a.workerState, workerStateShape, { ownerUid: a.workerUid })),
  };
}

/** The HTTP handler: GET /metrics only. */
function metricsHandler(a: ExporterArgs, log: Logger, now: () => number = Date.now): (req: IncomingMessage, res: ServerResponse) => void {
  const errors: Record<string, Record<string, number>> = {};
  return (req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('tumblerd metrics: GET /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const failed = (e: unknown): void => {
      log.limited('error', 'metrics.scrape_failed', { code: isTumblerError(e) ? e.code : 'UNKNOWN' });
      res.writeHead(500).end();
    };
    let registry: ReturnType<typeof buildRegistry>;
    try {
      registry = buildRegistry({ ...readStates(a, errors), nowMs: now(), readErrors: errors });
    } catch (e) {
      failed(e); // one bad scrape, not a dead exporter
      return;
    }
    registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    }, failed);
  };
}

function parseArgs(argv: readonly string[]): ExporterArgs & { readonly logFormat: LogFormat } {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const path = arg('--listen-path');
  const host = arg('--listen-host');
  const port = Number(arg('--listen-port'));
  const workerUid = Number(arg('--worker-uid'));
  const monitorState = arg('--monitor-state');
  const workerState = arg('--worker-state');
  const listen = path !== undefined ? { path } : host !== undefined && Number.isInteger(port) && port > 0 && port < 65536 ? { host, port } : null;
  if (!listen || !monitorState || !workerState || !Number.isInteger(workerUid) || workerUid < 0) {
    process.stderr.write('tumblerd metrics: started by `tumblerd run` only (--listen-host/--listen-port or --listen-path, --monitor-state, --worker-state, --worker-uid)\n');
    process.exit(EXIT_LISTEN);
  }
  return { listen, monitorState, workerState, workerUid, logFormat: arg('--log-format') === 'text' ? 'text' : 'json' };
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  const log = createLogger({ format: a.logFormat, component: 'metrics', perSec: 5 });
  // 1. Nothing privileged here, ever: no_new_privs, then prove uid != 0 and no capability.
  try {
    setNoNewPrivs();
    assertUnprivileged();
  } catch (e) {
    log.log('error', 'privsep.failed', { code: isTumblerError(e) ? e.code : 'UNKNOWN' });
    process.exit(EXIT_PRIVILEGED);
  }
  // 2. Serve, with small limits: this is a local scrape endpoint.
  const server = createServer({ maxHeaderSize: 8192 }, metricsHandler(a, log));
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 32;
  server.maxConnections = 32;
  const where = 'path' in a.listen ? a.listen.path : `${a.listen.host}:${a.listen.port}`;
  server.on('error', (e: NodeJS.ErrnoException) => {
    log.log('error', 'metrics.listen_failed', { listen: where, code: e.code ?? 'UNKNOWN' });
    process.exit(EXIT_LISTEN);
  });
  if ('path' in a.listen) removeStaleSocket(a.listen.path);
  server.listen('path' in a.listen ? { path: a.listen.path } : { host: a.listen.host, port: a.listen.port }, () => {
    // A Unix socket: the exporter's account and group may connect (give the scraper the group).
    if ('path' in a.listen) chmodSync(a.listen.path, 0o660);
    log.log('info', 'metrics.listening', { listen: where, pid: process.pid });
  });
  const stop = (): void => {
    server.close();
    if ('path' in a.listen) removeStaleSocket(a.listen.path);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The monitor gone (killed outright), this process must not hold the address for the next one.
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) stop(); }, 1_000);
}

/** A socket left by an earlier exporter of ours (our uid) is removed; anything else is left for listen() to refuse. */
function removeStaleSocket(path: string): void {
  try {
    const st = lstatSync(path);
    if (st.isSocket() && st.uid === process.getuid?.()) unlinkSync(path);
  } catch { /* absent */ }
}

if (process.argv[1] && /metrics\/main\.(js|ts)$/.test(process.argv[1])) main();

/**
 * `tumblerd status`, the facts: what the running daemon publishes next to its pid file
 * (server/state/), gathered without a capture, a store connection or a write. The monitor's
 * document is root's; the worker's is UNTRUSTED (the unprivileged worker wrote it): it must be a
 * regular file owned by the account that owns the worker's state directory (the monitor made that
 * directory for it), of the exact shape, and is reported as unusable otherwise, never quoted.
 */
import { lstatSync } from 'node:fs';
import { isTumblerError, TumblerError } from '../../shared/errors.js';
import { readStateFile, STALE_MS, statePaths } from '../state/file.js';
import { monitorStateShape, type MonitorState } from '../state/monitor-state.js';
import { workerStateShape, type RecentWindow, type WorkerState } from '../state/worker-state.js';
import { isoTime } from './output.js';
import { runningDaemonPid } from './stop.js';

export type WorkerView =
  | { readonly state: 'ok' | 'stale'; readonly doc: WorkerState; readonly ageMs: number }
  | { readonly state: 'missing' | 'other-worker' | 'unusable'; readonly code?: string };

export interface StatusReport {
  readonly pidFile: string;
  readonly nowMs: number;
  readonly monitor: MonitorState;
  readonly monitorAgeMs: number;
  readonly worker: WorkerView;
}

/** Everything status shows; ADMIN_NOT_RUNNING (exit 3) when no daemon runs from this pid file. */
export function readStatus(pidFile: string, nowMs: number = Date.now()): StatusReport {
  // 1. A daemon runs: a pid file whose process is alive and is tumblerd.
  const pid = runningDaemonPid(pidFile);
  // 2. Its monitor's document, by root, of this very process.
  const paths = statePaths(pidFile);
  let monitor: MonitorState;
  try {
    monitor = readStateFile(paths.monitor, monitorStateShape, { ownerUid: 0 });
  } catch (e) {
    if (!isTumblerError(e)) throw e;
    throw new TumblerError('ADMIN_STATUS_UNAVAILABLE', `tumblerd (pid ${pid}) runs but its state is not readable: ${e.message} (${e.code}); it may be starting, or older than this command`);
  }
  if (monitor.pid !== pid) {
    throw new TumblerError('ADMIN_STATUS_UNAVAILABLE', `tumblerd (pid ${pid}) runs but ${paths.monitor} is from pid ${monitor.pid}; it may be starting`);
  }
  return { pidFile, nowMs, monitor, monitorAgeMs: Math.max(0, nowMs - monitor.publishedAtMs), worker: readWorker(paths.workerDir, paths.worker, monitor, nowMs) };
}

function readWorker(dir: string, file: string, monitor: MonitorState, nowMs: number): WorkerView {
  let owner: number;
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid === 0) return { state: 'unusable', code: 'STATE_UNSAFE' };
    owner = st.uid;
  } catch {
    return { state: 'missing' };
  }
  let doc: WorkerState;
  try {
    doc = readStateFile(file, workerStateShape, { ownerUid: owner });
  } catch (e) {
    const code = isTumblerError(e) ? e.code : 'STATE_UNREADABLE';
    return code === 'STATE_MISSING' ? { state: 'missing' } : { state: 'unusable', code };
  }
  if (doc.pid !== monitor.worker.pid) return { state: 'other-worker' };
  const ageMs = Math.max(0, nowMs - doc.publishedAtMs);
  return { state: ageMs > STALE_MS ? 'stale' : 'ok', doc, ageMs };
}

/** The sum of a count-by-name record. */
export const total = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((a, b) => a + b, 0);

/** The report as `--json` prints it (times ISO 8601 UTC). */
export function statusJson(r: StatusReport): Record<string, unknown> {
  const m = r.monitor;
  const w = r.worker;
  const doc = 'doc' in w ? w.doc : null;
  const win = (x: RecentWindow) => ({ ...x });
  return {
    running: true,
    version: m.tumblerVersion,
    monitor: { pid: m.pid, startedAt: isoTime(m.startedAtMs), uptimeSeconds: Math.floor((r.nowMs - m.startedAtMs) / 1000), stateAgeSeconds: r.monitorAgeMs / 1000 },
    worker: {
      pid: m.worker.pid ?? null, starts: m.worker.starts, restarts: m.worker.restarts, state: w.state, ...('code' in w && w.code && { code: w.code }),
      ...(doc && 'ageMs' in w && { startedAt: isoTime(doc.startedAtMs), publishedAt: isoTime(doc.publishedAtMs), stateAgeSeconds: w.ageMs / 1000 }),
    },
    firewall: { backend: m.firewall.backend, intact: m.firewall.intact, repairs: m.firewall.repairs, repairFailures: m.firewall.repairFailures, drift: m.firewall.drift },
    grants: { open: total(m.grants.open), byService: m.grants.open },
    knocks: doc ? { lastMinute: win(doc.recent.minute), lastHour: win(doc.recent.hour) } : null,
    incidents: { total: total(m.incidents), last: m.lastIncidents.map((i) => ({ at: isoTime(i.atMs), code: i.code })) },
    store: {
      backend: m.store.backend, location: m.store.location, healthy: doc ? doc.store.healthy : null,
      ...(doc?.store.failingSinceMs !== undefined && { failingSince: isoTime(doc.store.failingSinceMs) }),
      ...(doc?.store.lastFailure !== undefined && { lastFailure: doc.store.lastFailure }),
    },
    capture: doc ? { received: doc.pcap.received, dropped: doc.pcap.dropped } : null,
  };
}

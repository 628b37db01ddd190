import { LAST_INCIDENTS } from '../state/monitor-state.js';

/** Grants by service: the kernel took them, removed before their expiry, ran out (grant-book.ts). */
export interface GrantTally {
  readonly opened: Record<string, number>;
  readonly closed: Record<string, number>;
  readonly expired: Record<string, number>;
}

/**
 * The monitor's counters, in one object that a metrics or status task can publish as it is:
 * requests by op, incidents, refusals and firewall failures by code, drift repairs by kind,
 * worker starts and restarts, whether the firewall is intact now, and when the monitor started.
 * Counts only grow; nothing here holds an address or a name from a request.
 */
export interface MonitorCounters {
  readonly startedAtMs: number;
  /** Requests by op (hello, reconcile, open, close). */
  readonly requests: Record<string, number>;
  /** Incidents (the worker was killed) by code: verdict.ts. */
  readonly incidents: Record<string, number>;
  /** Refused requests (answered, the worker lives on) by code: verdict.ts. */
  readonly refusals: Record<string, number>;
  /** Requests the firewall failed (answered) by code, e.g. FIREWALL_TIMEOUT. */
  readonly failures: Record<string, number>;
  /** Pieces of our firewall state found missing or altered, and restored, by kind (types.ts DriftKind). */
  readonly drift: Record<string, number>;
  /** Repairs done (each restores every drifted piece at once), and repairs that failed. */
  repairs: number;
  repairFailures: number;
  /** Grants put back into the kernel by repairs. */
  grantsRestored: number;
  /** Grants another tool deleted from our maps (dropped from our record, not restored). */
  grantsClosedElsewhere: number;
  workerStarts: number;
  /** Starts after a worker exited (killed for an incident, crashed, or killed from outside). */
  workerRestarts: number;
  /** False from the moment drift is seen until a repair succeeds. */
  firewallIntact: boolean;
  /** Grants by service (counted by the grant book). */
  readonly grants: GrantTally;
  /** The last incidents with their time, oldest first (recordIncident). */
  readonly lastIncidents: Array<{ readonly atMs: number; readonly code: string }>;
}

export function createCounters(now: () => number = Date.now): MonitorCounters {
  return {
    startedAtMs: now(),
    requests: {},
    incidents: {},
    refusals: {},
    failures: {},
    drift: {},
    repairs: 0,
    repairFailures: 0,
    grantsRestored: 0,
    grantsClosedElsewhere: 0,
    workerStarts: 0,
    workerRestarts: 0,
    firewallIntact: true,
    grants: { opened: {}, closed: {}, expired: {} },
    lastIncidents: [],
  };
}

/** An incident: counted by code and kept, with its time, among the last few. */
export function recordIncident(c: MonitorCounters, code: string, atMs: number): void {
  bump(c.incidents, code);
  c.lastIncidents.push({ atMs, code });
  if (c.lastIncidents.length > LAST_INCIDENTS) c.lastIncidents.splice(0, c.lastIncidents.length - LAST_INCIDENTS);
}

/** counts[key] += n. */
export function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

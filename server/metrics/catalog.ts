/**
 * Every metric tumblerd exports, named once: its name, type, help and label names, and which worker
 * counter (server/worker/counters.ts) feeds which metric. The exporter builds its registry from
 * this; the Grafana dashboard and alert rules in docs/ are checked against it. Labels carry codes,
 * reasons, services, ops and kinds only: never a user, device or address (cardinality, privacy).
 */
import { SERVICE_NAME_RE } from '../../shared/protocol/constants.js';
import { CODE_RE } from '../state/monitor-state.js';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  readonly name: string;
  readonly kind: MetricKind;
  readonly help: string;
  readonly labels: readonly string[];
}

const def = (name: string, kind: MetricKind, help: string, labels: readonly string[] = []): MetricDef => ({ name, kind, help, labels });

export const METRICS = {
  // ---- the worker: packets and knocks ----
  frames: def('tumbler_frames_total', 'counter', 'Frames the capture passed to the worker (SYNs to the knock range).'),
  framesIgnored: def('tumbler_frames_ignored_total', 'counter', 'Frames that are no knock packet: malformed, or not a SYN to one of our addresses.', ['reason']),
  framesFiltered: def('tumbler_frames_filtered_total', 'counter', 'Frames the per-packet filter dropped (no live sequence has that port and tag).'),
  assembled: def('tumbler_knocks_assembled_total', 'counter', 'Three-packet combinations assembled per source and checked.'),
  rejected: def('tumbler_knocks_rejected_total', 'counter', 'Knocks rejected, by reason code (the wire stays silent).', ['reason']),
  granted: def('tumbler_knocks_granted_total', 'counter', 'Knocks granted: first use of a sequence, or the lost-reply recovery.', ['mode']),
  grantsFailed: def('tumbler_grants_failed_total', 'counter', 'Verified knocks whose grant failed (firewall or store), by code and service.', ['code', 'service']),
  resent: def('tumbler_replies_resent_total', 'counter', 'Stored replies re-sent to a retransmitted knock.'),
  resendLimited: def('tumbler_replies_resend_limited_total', 'counter', 'Retransmits not answered: over the per-sequence re-send rate.'),
  probesAnswered: def('tumbler_probes_answered_total', 'counter', 'Probe knocks answered with the address the server sees.'),
  probesFailed: def('tumbler_probes_failed_total', 'counter', 'Probe answers that could not be sent.'),
  closedByAdmin: def('tumbler_grants_closed_by_admin_total', 'counter', 'Grants this gateway closed at an admin\'s request.'),
  auditFailed: def('tumbler_audit_failures_total', 'counter', 'Audit rows of rejected knocks that could not be written.'),
  storeErrors: def('tumbler_store_errors_total', 'counter', 'Store calls on the knock path that failed, by code (each fails closed).', ['code']),
  storeUp: def('tumbler_store_up', 'gauge', '1 while the store answers the knock path, 0 while it fails.'),
  storeLatency: def('tumbler_store_latency_seconds', 'histogram', 'Store calls on the knock path: lookup (one per checked knock) and accept (one per grant).', ['op']),
  knockToGrant: def('tumbler_knock_to_grant_seconds', 'histogram', 'From the first knock packet captured to the grant in the firewall and the store.'),
  pcapReceived: def('tumbler_pcap_received_total', 'counter', 'Packets libpcap received (since the worker started).'),
  pcapDropped: def('tumbler_pcap_dropped_total', 'counter', 'Packets libpcap dropped for lack of buffer space: knocks may have been lost.'),
  pcapIfDropped: def('tumbler_pcap_if_dropped_total', 'counter', 'Packets the interface or its driver dropped.'),
  pendingSources: def('tumbler_pending_sources', 'gauge', 'Sources with half-assembled knocks held in memory.'),
  pendingPackets: def('tumbler_pending_packets', 'gauge', 'Knock packets held in memory awaiting their companions.'),
  inFlight: def('tumbler_knocks_in_flight', 'gauge', 'Knocks awaiting the store or the firewall.'),
  workerStart: def('tumbler_worker_start_time_seconds', 'gauge', 'When the running worker started (Unix time).'),
  workerUp: def('tumbler_worker_up', 'gauge', '1 when the running worker published its state within the last 5 s.'),
  workerAge: def('tumbler_worker_state_age_seconds', 'gauge', 'Age of the worker\'s published state; grows while a packet flood starves the worker.'),
  // ---- the monitor: firewall, worker supervision, grants ----
  up: def('tumbler_up', 'gauge', '1 when the monitor published its state within the last 5 s.'),
  info: def('tumbler_info', 'gauge', 'Always 1; the version and backends as labels.', ['version', 'firewall', 'store']),
  monitorStart: def('tumbler_monitor_start_time_seconds', 'gauge', 'When the monitor (the daemon) started (Unix time).'),
  monitorAge: def('tumbler_monitor_state_age_seconds', 'gauge', 'Age of the monitor\'s published state.'),
  stateErrors: def('tumbler_state_read_errors_total', 'counter', 'Published state documents the exporter could not use, by document (monitor, worker) and code.', ['document', 'code']),
  requests: def('tumbler_monitor_requests_total', 'counter', 'Requests the worker made to the monitor, by op.', ['op']),
  incidents: def('tumbler_monitor_incidents_total', 'counter', 'Protocol violations by the worker (it was killed and restarted), by code.', ['code']),
  refusals: def('tumbler_monitor_refusals_total', 'counter', 'Well-formed requests the monitor refused by policy, by code.', ['code']),
  firewallFailures: def('tumbler_firewall_failures_total', 'counter', 'Requests the firewall failed, by code.', ['code']),
  firewallIntact: def('tumbler_firewall_intact', 'gauge', '1 while the firewall table is as installed; 0 from drift until its repair.'),
  drift: def('tumbler_firewall_drift_total', 'counter', 'Pieces of the firewall state found missing or altered and restored, by kind.', ['kind']),
  repairs: def('tumbler_firewall_repairs_total', 'counter', 'Firewall repairs done.'),
  repairFailures: def('tumbler_firewall_repair_failures_total', 'counter', 'Firewall repairs that failed (retried).'),
  grantsRestored: def('tumbler_firewall_grants_restored_total', 'counter', 'Grants put back into the kernel by repairs.'),
  closedElsewhere: def('tumbler_grants_closed_elsewhere_total', 'counter', 'Grants another tool deleted from our maps or sets.'),
  workerStarts: def('tumbler_worker_starts_total', 'counter', 'Workers started.'),
  workerRestarts: def('tumbler_worker_restarts_total', 'counter', 'Workers restarted after an exit (incident, crash, kill).'),
  grantsOpen: def('tumbler_grants_open', 'gauge', 'Grants open in the firewall now, by service.', ['service']),
  grantsOpened: def('tumbler_grants_opened_total', 'counter', 'Grants the firewall took, by service.', ['service']),
  grantsClosed: def('tumbler_grants_closed_total', 'counter', 'Grants removed before their expiry (a failed commit, an admin, another tool), by service.', ['service']),
  grantsExpired: def('tumbler_grants_expired_total', 'counter', 'Grants that ran out, by service.', ['service']),
} as const satisfies Record<string, MetricDef>;

export type MetricKey = keyof typeof METRICS;

/** Every metric name, for the checks of the dashboard and the alert rules. */
export const METRIC_NAMES: readonly string[] = Object.values(METRICS).map((m) => m.name);

/** A counter of the worker as a metric sample: which metric and with which labels; null when it is none. */
export function workerCounterSample(counter: string): { key: MetricKey; labels: Record<string, string> } | null {
  const [head, a, b] = counter.split('.');
  const code = (v: string | undefined): v is string => v !== undefined && CODE_RE.test(v);
  if (a === undefined) {
    const plain: Partial<Record<string, [MetricKey, Record<string, string>]>> = {
      frames: ['frames', {}], malformed: ['framesIgnored', { reason: 'malformed' }], not_knock: ['framesIgnored', { reason: 'not_knock' }],
      filtered: ['framesFiltered', {}], assembled: ['assembled', {}], granted: ['granted', { mode: 'first' }], granted_recovery: ['granted', { mode: 'recovery' }],
      resent: ['resent', {}], resend_limited: ['resendLimited', {}], closed_by_admin: ['closedByAdmin', {}], audit_failed: ['auditFailed', {}],
    };
    const hit = Object.hasOwn(plain, head!) ? plain[head!] : undefined;
    return hit ? { key: hit[0], labels: hit[1] } : null;
  }
  if (head === 'reject' && b === undefined && code(a)) return { key: 'rejected', labels: { reason: a } };
  if (head === 'store_failed' && b === undefined && code(a)) return { key: 'storeErrors', labels: { code: a } };
  if (head === 'grant_failed' && code(a) && b !== undefined && SERVICE_NAME_RE.test(b)) return { key: 'grantsFailed', labels: { code: a, service: b } };
  if (head === 'probe' && b === undefined && (a === 'answered' || a === 'failed')) return { key: a === 'answered' ? 'probesAnswered' : 'probesFailed', labels: {} };
  return null;
}

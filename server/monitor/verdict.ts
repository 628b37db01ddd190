/**
 * The two ways the monitor says no (OpenSSH's monitor: a child that breaks the protocol dies).
 *
 *  - Incident: the frame or request is not something an honest worker ever sends — a broken frame
 *    (IPC_BAD_JSON, IPC_OVERSIZE, IPC_TRUNCATED), an op outside the vocabulary (IPC_UNKNOWN_OP), a
 *    missing, extra or mistyped field (IPC_BAD_SHAPE), an address that is not a literal of the
 *    stated family (MONITOR_ADDRESS_SYNTAX), a request out of its phase (IPC_ORDER), a reconcile
 *    longer than MAX_KEEP_TOTAL (IPC_TOO_MANY), more than MAX_OUTSTANDING unanswered requests
 *    (IPC_FLOOD). The monitor logs it, kills the worker (SIGKILL) and restarts it with backoff.
 *  - Refusal: a well-formed request that the monitor's policy turns down — what a spoofed or
 *    unlucky knock can lead an honest worker to ask: an address that is not unicast
 *    (MONITOR_ADDRESS_REFUSED: unspecified, loopback, multicast, broadcast, IPv4-mapped or
 *    -compatible), a port outside grant.ports (MONITOR_PORT_RANGE), a service not configured
 *    (MONITOR_UNKNOWN_SERVICE) or without a target of that family (MONITOR_FAMILY), a TTL outside
 *    1..max_ttl (MONITOR_TTL), a grant that is already open (MONITOR_DUPLICATE), MAX_GRANTS open
 *    (MONITOR_FULL). The monitor answers {ok: false, code}, counts it, and the worker lives on.
 */
import { TumblerError } from '../../shared/errors.js';

/** A request that ends the worker. */
export class Incident extends TumblerError {}

/** A well-formed request that policy turns down: answered, counted, the worker lives on. */
export class Refusal extends TumblerError {}

/**
 * The monitor vocabulary: the closed list of things the unprivileged worker may ask the privileged
 * monitor (OpenSSH monitor style). Each message is one JSON object in one frame (frame.ts); shapes
 * are exact, no field more or less (decode.ts). The monitor re-checks every field against its own
 * config (server/monitor/validate.ts). Anything unknown, malformed or out of order ends the worker.
 *
 * Requests (worker → monitor), `id` an integer 1..2^31 chosen by the worker:
 *   hello      {op, id, pid}                                   first request of every worker
 *   open       {op, id, family, address, port, service, ttl}   allow `address` to forward `port`
 *                                                              (to `service`'s target) for ttl s
 *   close      {op, id, family, address, port}                 remove that grant now
 *   list       {op, id[, offset]}                              kernel grants from `offset` (0)
 *   reconcile  {op, id, keep, final}                           keep ≤ MAX_KEEP grant keys; frames
 *                                                              accumulate until final: true, then
 *                                                              every kernel grant not kept goes
 * Answers (monitor → worker), in request order:
 *   {id, ok: true[, result]}   result: list → KernelGrant[] (≤ MAX_LIST_PAGE; a full page means
 *                              ask again at offset + length); reconcile → {removed} on the final
 *                              frame (none before it); hello, open, close → none
 *   {id, ok: false, code}      code: UPPER_SNAKE, e.g. MONITOR_FIREWALL
 */

export type IpFamily = 4 | 6;

/** Identifies one grant: a source address allowed to one forward port. */
export interface GrantKey {
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
}

export interface HelloRequest {
  readonly op: 'hello';
  readonly id: number;
  readonly pid: number;
}

export interface OpenRequest extends GrantKey {
  readonly op: 'open';
  readonly id: number;
  readonly service: string;
  readonly ttl: number; // seconds
}

export interface CloseRequest extends GrantKey {
  readonly op: 'close';
  readonly id: number;
}

export interface ListRequest {
  readonly op: 'list';
  readonly id: number;
  readonly offset?: number; // first grant to return, in the monitor's order; absent = 0
}

export interface ReconcileRequest {
  readonly op: 'reconcile';
  readonly id: number;
  readonly keep: readonly GrantKey[];
  readonly final: boolean;
}

export type MonitorRequest = HelloRequest | OpenRequest | CloseRequest | ListRequest | ReconcileRequest;
export type RequestOp = MonitorRequest['op'];

/** A grant as the kernel holds it. */
export interface KernelGrant extends GrantKey {
  readonly service: string;
  readonly expiresInSec: number;
}

/** Answer to the final reconcile frame: how many kernel grants were removed. */
export interface ReconcileResult {
  readonly removed: number;
}

export type MonitorResult = readonly KernelGrant[] | ReconcileResult;

export interface OkResponse {
  readonly id: number;
  readonly ok: true;
  readonly result?: MonitorResult;
}

export interface ErrorResponse {
  readonly id: number;
  readonly ok: false;
  readonly code: string;
}

export type MonitorResponse = OkResponse | ErrorResponse;

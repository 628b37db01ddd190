/**
 * The monitor vocabulary: the closed list of things the unprivileged worker may ask the privileged
 * monitor (OpenSSH monitor style). Each message is one JSON object in one frame (frame.ts); shapes
 * are exact, no field more or less (decode.ts). The monitor re-checks every field against its own
 * config (server/monitor/validate.ts).
 *
 * Requests (worker → monitor), `id` an integer 1..2^31 chosen by the worker, accepted by phase
 * (OpenSSH's monitor.c): `hello` once, then `reconcile` frames until one says final: true, then
 * only `open` and `close`. A request out of its phase is an incident.
 *   hello      {op, id, pid}                                   first request of every worker
 *   reconcile  {op, id, keep, final}                           keep ≤ MAX_KEEP grant keys; frames
 *                                                              accumulate until final: true, then
 *                                                              every kernel grant not kept goes
 *   open       {op, id, family, address, port, service, ttl}   allow `address` to forward `port`
 *                                                              (to `service`'s target) for ttl s
 *   close      {op, id, family, address, port}                 remove that grant now
 * Answers (monitor → worker), in request order:
 *   {id, ok: true[, result]}   result: reconcile → {removed} on the final frame (none before it);
 *                              hello, open, close → none
 *   {id, ok: false, code}      a refusal (the request is well formed but out of policy, e.g.
 *                              MONITOR_PORT_RANGE, MONITOR_FULL) or a firewall failure
 *                              (FIREWALL_*). The worker lives on; a malformed or out-of-phase
 *                              request gets no answer: the monitor kills the worker.
 */
import type { IpFamily } from '../net/address.js';

/** Identifies one grant (the kernel's key too): a source address allowed to one forward port. */
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

export interface ReconcileRequest {
  readonly op: 'reconcile';
  readonly id: number;
  readonly keep: readonly GrantKey[];
  readonly final: boolean;
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

export type MonitorRequest = HelloRequest | ReconcileRequest | OpenRequest | CloseRequest;
export type RequestOp = MonitorRequest['op'];

/** The channel's phases, in order: hello → reconcile (until a final frame) → serve. */
export type Phase = 'hello' | 'reconcile' | 'serve';
/** The phase each request is accepted in: the monitor enforces it, the worker keeps to it. */
export const PHASE_OF: Readonly<Record<RequestOp, Phase>> = { hello: 'hello', reconcile: 'reconcile', open: 'serve', close: 'serve' };

/** Answer to the final reconcile frame: how many kernel grants were removed. */
export interface ReconcileResult {
  readonly removed: number;
}

export interface OkResponse {
  readonly id: number;
  readonly ok: true;
  readonly result?: ReconcileResult;
}

export interface ErrorResponse {
  readonly id: number;
  readonly ok: false;
  readonly code: string;
}

export type MonitorResponse = OkResponse | ErrorResponse;

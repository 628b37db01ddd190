/**
 * The monitor's request table (OpenSSH's monitor.c: mon_dispatch and mm_answer_*): one closed
 * list of ops, each with its answer function and the phase it is accepted in (PHASE_OF, shared with
 * the worker: shared/ipc/messages.ts). Phases run in one
 * direction: `hello` once, then `reconcile` frames until final, then only `open` and `close`. Each
 * request is decoded strictly, checked against its phase, re-validated against the monitor's OWN
 * config and its own record of open grants (grant-book.ts), and only then handed to the firewall.
 *
 * Requests that arrive together are prepared one by one, in order, then run in order; consecutive
 * opens share one firewall transaction (FirewallBackend.openMany, which falls back to one by one
 * when the transaction fails). Answers keep request order. What ends the worker (an Incident) and
 * what is only refused (a Refusal, answered): verdict.ts.
 */
import { isTumblerError, TumblerError } from '../../shared/errors.js';
import {
  decodeRequest, MAX_KEEP_TOTAL, PHASE_OF,
  type CloseRequest, type GrantKey, type HelloRequest, type MonitorRequest, type OpenRequest, type Phase, type ReconcileRequest, type ReconcileResult, type RequestOp,
} from '../../shared/ipc/index.js';
import type { TumblerConfig } from '../config/types.js';
import { bump, type MonitorCounters } from './counters.js';
import type { FirewallBackend, Grant } from './firewall/types.js';
import type { GrantBook } from './grant-book.js';
import { validateClose, validateKeep, validateOpen } from './validate.js';
import { Incident, Refusal } from './verdict.js';

export type Answer = { id: number; ok: true; result?: ReconcileResult } | { id: number; ok: false; code: string };

export interface DispatcherDeps {
  readonly config: TumblerConfig;
  readonly firewall: FirewallBackend;
  /** The monitor's record of open grants; it outlives each worker. */
  readonly book: GrantBook;
  readonly counters: MonitorCounters;
  /**
   * Called when an open failed because our table or map is gone (FIREWALL_NOT_INSTALLED);
   * resolves once the firewall is restored, and the opens are tried once more.
   */
  readonly restoreFirewall?: () => Promise<void>;
  readonly now?: () => number;
}

/** A request ready to run: its answer known already (a refusal), an open, or another call. */
type Step =
  | { readonly id: number; readonly kind: 'answer'; readonly answer: Answer }
  | { readonly id: number; readonly kind: 'open'; readonly grant: Grant }
  | { readonly id: number; readonly kind: 'call'; readonly call: () => Promise<ReconcileResult | undefined> };

type Prepare<Op extends RequestOp> = (d: Dispatcher, req: Extract<MonitorRequest, { op: Op }>) => Step;

export interface Handled {
  /** Answers for the requests before the incident (all of them when there is none), in order. */
  readonly answers: Answer[];
  readonly incident: Incident | null;
}

export class Dispatcher {
  /** The table: every op of the vocabulary and its answer (mm_answer_*); its phase is PHASE_OF (shared/ipc). */
  private static readonly TABLE: { readonly [Op in RequestOp]: Prepare<Op> } = {
    hello: (d, r) => d.answerHello(r),
    reconcile: (d, r) => d.answerReconcile(r),
    open: (d, r) => d.answerOpen(r),
    close: (d, r) => d.answerClose(r),
  };

  private phaseNow: Phase = 'hello';
  private keepSoFar: GrantKey[] = [];
  private readonly now: () => number;

  constructor(private readonly d: DispatcherDeps) {
    this.now = d.now ?? Date.now;
  }

  get phase(): Phase {
    return this.phaseNow;
  }

  /** One frame: its answer, or the Incident it is. */
  async handle(frame: unknown): Promise<Answer> {
    const { answers, incident } = await this.handleMany([frame]);
    if (incident) throw incident;
    return answers[0]!;
  }

  /**
   * Frames received together, in order: prepared one by one, then run in order (consecutive opens
   * in one firewall call). Stops preparing at the first incident; what came before still runs.
   */
  async handleMany(frames: readonly unknown[]): Promise<Handled> {
    const steps: Step[] = [];
    let incident: Incident | null = null;
    for (const frame of frames) {
      try {
        steps.push(this.prepare(frame));
      } catch (e) {
        incident = asIncident(e);
        break;
      }
    }
    return { answers: await this.run(steps), incident };
  }

  /** Decode, check the phase, validate; a Refusal becomes an answer, anything else an Incident. */
  private prepare(frame: unknown): Step {
    let req: MonitorRequest;
    try {
      req = decodeRequest(frame);
    } catch (e) {
      throw asIncident(e);
    }
    if (PHASE_OF[req.op] !== this.phaseNow) throw new Incident('IPC_ORDER', `${req.op} is not accepted in the ${this.phaseNow} phase`);
    bump(this.d.counters.requests, req.op);
    try {
      return (Dispatcher.TABLE[req.op] as Prepare<RequestOp>)(this, req as never);
    } catch (e) {
      if (!(e instanceof Refusal)) throw asIncident(e);
      bump(this.d.counters.refusals, e.code);
      return { id: req.id, kind: 'answer', answer: { id: req.id, ok: false, code: e.code } };
    }
  }

  // ---- the answers (mm_answer_*) ----

  private answerHello(req: HelloRequest): Step {
    this.phaseNow = 'reconcile';
    return { id: req.id, kind: 'answer', answer: { id: req.id, ok: true } };
  }

  private answerReconcile(req: ReconcileRequest): Step {
    const keep = validateKeep(req, this.d.config, (r) => bump(this.d.counters.refusals, r.code));
    if (this.keepSoFar.length + keep.length > MAX_KEEP_TOTAL) throw new Incident('IPC_TOO_MANY', 'reconcile keep list too long');
    this.keepSoFar.push(...keep);
    if (!req.final) return { id: req.id, kind: 'answer', answer: { id: req.id, ok: true } };
    const all = this.keepSoFar;
    this.keepSoFar = [];
    this.phaseNow = 'serve';
    return {
      id: req.id,
      kind: 'call',
      call: async () => {
        this.d.book.retain(all, this.now());
        return { removed: await this.d.firewall.reconcile(all) };
      },
    };
  }

  private answerOpen(req: OpenRequest): Step {
    const r = validateOpen(req, this.d.config);
    const grant: Grant = { family: r.family, address: r.address, port: r.port, service: r.service, ttlSec: r.ttl };
    // Recorded before the kernel call: its expiry never outlives the element, and a repair
    // running meanwhile restores it too.
    this.d.book.reserve(grant, this.now());
    return { id: req.id, kind: 'open', grant };
  }

  private answerClose(req: CloseRequest): Step {
    const r = validateClose(req, this.d.config);
    this.d.book.remove(r, this.now()); // before the kernel: a repair meanwhile must not bring it back
    return {
      id: req.id,
      kind: 'call',
      call: async () => {
        await this.d.firewall.close(r.family, r.address, r.port);
        return undefined;
      },
    };
  }

  // ---- running prepared steps in order ----

  private async run(steps: readonly Step[]): Promise<Answer[]> {
    const answers: Answer[] = [];
    for (let i = 0; i < steps.length;) {
      const step = steps[i]!;
      if (step.kind === 'answer') {
        answers.push(step.answer);
        i++;
      } else if (step.kind === 'call') {
        answers.push(await this.call(step.id, step.call));
        i++;
      } else {
        let j = i;
        while (j < steps.length && steps[j]!.kind === 'open') j++;
        answers.push(...(await this.openAll(steps.slice(i, j) as Array<Extract<Step, { kind: 'open' }>>)));
        i = j;
      }
    }
    return answers;
  }

  private async call(id: number, call: () => Promise<ReconcileResult | undefined>): Promise<Answer> {
    try {
      const result = await call();
      return result === undefined ? { id, ok: true } : { id, ok: true, result };
    } catch (e) {
      return this.failed(id, e);
    }
  }

  /** Consecutive opens in one firewall call; once more after a restore when our table was gone. */
  private async openAll(opens: ReadonlyArray<Extract<Step, { kind: 'open' }>>): Promise<Answer[]> {
    let outcomes = await this.openMany(opens.map((o) => o.grant));
    const lost = outcomes.flatMap((o, i) => (isTumblerError(o, 'FIREWALL_NOT_INSTALLED') ? [i] : []));
    if (lost.length > 0 && this.d.restoreFirewall) {
      await this.d.restoreFirewall().catch(() => undefined);
      const again = await this.openMany(lost.map((i) => opens[i]!.grant));
      outcomes = outcomes.slice();
      lost.forEach((i, n) => { outcomes[i] = again[n]!; });
    }
    return opens.map((o, i) => {
      const failure = outcomes[i];
      if (!failure) {
        this.d.book.confirm(o.grant, this.now());
        return { id: o.id, ok: true };
      }
      this.d.book.remove(o.grant, this.now());
      return this.failed(o.id, failure);
    });
  }

  private async openMany(grants: readonly Grant[]): Promise<Array<TumblerError | null>> {
    try {
      return await this.d.firewall.openMany(grants);
    } catch (e) {
      const err = isTumblerError(e) ? e : new TumblerError('MONITOR_FIREWALL', 'firewall error');
      return grants.map(() => err);
    }
  }

  private failed(id: number, e: unknown): Answer {
    const code = isTumblerError(e) ? e.code : 'MONITOR_FIREWALL';
    bump(this.d.counters.failures, code);
    return { id, ok: false, code };
  }
}

/** Anything thrown while preparing that is not a Refusal ends the worker, with its code. */
function asIncident(e: unknown): Incident {
  if (e instanceof Incident) return e;
  return new Incident(isTumblerError(e) ? e.code : 'IPC_BAD_SHAPE', 'worker sent a request that breaks the protocol');
}

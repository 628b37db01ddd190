/**
 * The monitor's answer table (OpenSSH's mm_answer_*): one handler per op of the closed vocabulary.
 * Each request is decoded strictly, re-validated against the monitor's OWN config, checked
 * against the monitor's own record of what it opened, and only then handed to the firewall.
 * A malformed or invalid request is an incident: the caller kills the worker.
 */
import { isTumblerError, TumblerError } from '../../shared/errors.js';
import { decodeRequest, MAX_KEEP_TOTAL, MAX_LIST_PAGE, type MonitorRequest } from '../../shared/ipc/index.js';
import type { TumblerConfig } from '../config/types.js';
import type { FirewallBackend } from './firewall/backend.js';
import { validateRequest } from './validate.js';

export type Answer = { id: number; ok: true; result?: unknown } | { id: number; ok: false; code: string };

/** Thrown for anything that must end the worker (malformed, out of policy, out of order). */
export class Incident extends TumblerError {}

export class Dispatcher {
  readonly counters: Record<string, number> = {};
  private greeted = false;
  private reconcileKeep: Array<{ family: 4 | 6; address: string; port: number }> = [];
  /** What this monitor opened and when it lapses: the "no duplicate grant" check uses our own state. */
  private readonly opened = new Map<string, number>();

  constructor(private readonly cfg: TumblerConfig, private readonly firewall: FirewallBackend, private readonly now: () => number = Date.now) {}

  private count(k: string): void {
    this.counters[k] = (this.counters[k] ?? 0) + 1;
  }

  /** Handle one decoded frame; resolves to the answer, or rejects with an Incident. */
  async handle(frame: unknown): Promise<Answer> {
    let req: MonitorRequest;
    try {
      req = validateRequest(decodeRequest(frame), this.cfg);
    } catch (e) {
      const code = isTumblerError(e) ? e.code : 'IPC_BAD_SHAPE';
      this.count(`refused.${code}`);
      throw new Incident(code, `worker sent an invalid request (${code})`);
    }
    if (!this.greeted && req.op !== 'hello') {
      this.count('refused.IPC_ORDER');
      throw new Incident('IPC_ORDER', 'first request must be hello');
    }
    this.count(`op.${req.op}`);
    try {
      return { id: req.id, ok: true, result: await this.answer(req) };
    } catch (e) {
      if (e instanceof Incident) throw e;
      const code = isTumblerError(e) ? e.code : 'MONITOR_FIREWALL';
      this.count(`failed.${code}`);
      return { id: req.id, ok: false, code };
    }
  }

  private async answer(req: MonitorRequest): Promise<unknown> {
    switch (req.op) {
      case 'hello':
        if (this.greeted) throw new Incident('IPC_ORDER', 'hello twice');
        this.greeted = true;
        return undefined;
      case 'open': {
        const k = `${req.family}|${req.address}|${req.port}`;
        const until = this.opened.get(k);
        if (until !== undefined && until > this.now()) throw new TumblerError('MONITOR_DUPLICATE', 'grant exists');
        await this.firewall.open({ family: req.family, address: req.address, port: req.port, service: req.service, ttlSec: req.ttl });
        this.opened.set(k, this.now() + req.ttl * 1000);
        this.prune();
        return undefined;
      }
      case 'close':
        this.opened.delete(`${req.family}|${req.address}|${req.port}`);
        await this.firewall.close(req.family, req.address, req.port);
        return undefined; // the vocabulary's close answers with no result (shared/ipc/messages.ts)
      case 'list': {
        const offset = req.offset ?? 0;
        const all = await this.firewall.list();
        return all.slice(offset, offset + MAX_LIST_PAGE).map((g) => ({
          family: g.family, address: g.address, port: g.port, service: g.service ?? '', expiresInSec: g.expiresInSec,
        }));
      }
      case 'reconcile': {
        if (this.reconcileKeep.length + req.keep.length > MAX_KEEP_TOTAL) throw new Incident('IPC_TOO_MANY', 'reconcile keep list too long');
        this.reconcileKeep.push(...req.keep);
        if (!req.final) return undefined;
        const keep = this.reconcileKeep;
        this.reconcileKeep = [];
        return { removed: await this.firewall.reconcile(keep) };
      }
    }
  }

  private prune(): void {
    if (this.opened.size < 4096) return;
    const t = this.now();
    for (const [k, until] of this.opened) if (until <= t) this.opened.delete(k);
  }
}

/**
 * The SQLite backend behind the asynchronous store contract: the synchronous engine (./engine.ts)
 * plus group commit and the change poll.
 *
 * Group commit: accepted knocks queue; at the next turn of the event loop every queued accept runs
 * inside one BEGIN IMMEDIATE … COMMIT (each in its own savepoint, so one that fails leaves the
 * others intact) and the batch pays one fsync. Nothing resolves before its COMMIT is durable.
 * Changes made by other processes (admin commands) show up in PRAGMA data_version, polled.
 */
import { TumblerError } from '../../../shared/errors.js';
import type {
  AcceptKnockInput, AcceptKnockResult, AddGrantInput, AuditInput, AuditQuery, EnrollInput, GrantQuery, Store, StoreListener,
} from '../types.js';
import { SqliteEngine, type SqliteEngineOptions } from './engine.js';
import type { Db } from './migrate.js';

export interface SqliteStoreOptions extends SqliteEngineOptions {
  /** Accepts sharing one transaction at most; 1 is one fsync per grant (the baseline). */
  readonly maxBatch?: number;
  /** How often watch() polls data_version (ms). */
  readonly pollMs?: number;
}

interface Pending {
  readonly input: AcceptKnockInput;
  resolve(r: AcceptKnockResult): void;
  reject(e: unknown): void;
}

const DEFAULT_MAX_BATCH = 256;
const DEFAULT_POLL_MS = 250;

export class SqliteStore implements Store {
  readonly engine: SqliteEngine;
  private readonly maxBatch: number;
  private readonly pollMs: number;
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;

  constructor(readonly db: Db, o: SqliteStoreOptions = {}) {
    this.engine = new SqliteEngine(db, o);
    this.maxBatch = Math.max(1, o.maxBatch ?? DEFAULT_MAX_BATCH);
    this.pollMs = o.pollMs ?? DEFAULT_POLL_MS;
  }

  get gateway(): string {
    return this.engine.gateway;
  }

  // ---- knock path -------------------------------------------------------------------------

  async findByKey(key: Buffer) {
    return this.engine.findByKey(key);
  }

  acceptKnock(input: AcceptKnockInput): Promise<AcceptKnockResult> {
    if (this.closed) return Promise.reject(new TumblerError('STORE_CLOSED', 'store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** One transaction for the queued accepts (up to maxBatch); settle each after the COMMIT. */
  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    const outcomes: Array<{ ok: true; r: AcceptKnockResult } | { ok: false; e: unknown }> = [];
    try {
      this.db.transaction(() => {
        for (const p of batch) {
          try {
            outcomes.push({ ok: true, r: this.engine.acceptKnock(p.input) }); // a savepoint inside the batch
          } catch (e) {
            outcomes.push({ ok: false, e });
          }
        }
      }).immediate();
    } catch (e) {
      for (const p of batch) p.reject(e); // BEGIN or COMMIT failed: nothing of the batch is durable
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.r);
      else p.reject(o.e);
    });
  }

  async recordAudit(a: AuditInput) {
    return this.engine.recordAudit(a);
  }

  async liveSequenceKeys() {
    return this.engine.liveSequenceKeys();
  }

  async liveGrants(now: number) {
    return this.engine.liveGrants(now);
  }

  async closeRequests(now: number) {
    return this.engine.closeRequests(now);
  }

  async closeGrant(id: number, reason: string) {
    return this.engine.closeGrant(id, reason);
  }

  /** Polls data_version: it changes when another connection commits. There is one host: no resync. */
  watch(l: StoreListener): () => void {
    let version = this.engine.dataVersion();
    let failing = false;
    const timer = setInterval(() => {
      try {
        const v = this.engine.dataVersion();
        if (failing) l.resync();
        failing = false;
        if (v !== version) {
          version = v;
          l.changed();
        }
      } catch {
        failing = true; // the knock path reports store errors; resync once it reads again
      }
    }, this.pollMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  // ---- admin ------------------------------------------------------------------------------

  async addUser(name: string, services: readonly string[]) { return this.engine.addUser(name, services); }
  async getUser(name: string) { return this.engine.getUser(name); }
  async listUsers() { return this.engine.listUsers(); }
  async setUserEnabled(name: string, enabled: boolean) { this.engine.setUserEnabled(name, enabled); }
  async setUserServices(name: string, services: readonly string[]) { this.engine.setUserServices(name, services); }
  async deleteUser(name: string) { return this.engine.deleteUser(name); }
  async enrollDevice(e: EnrollInput) { return this.engine.enrollDevice(e); }
  async getDevice(user: string, device: string) { return this.engine.getDevice(user, device); }
  async listDevices(user?: string) { return this.engine.listDevices(user); }
  async setDeviceEnabled(user: string, device: string, enabled: boolean) { this.engine.setDeviceEnabled(user, device, enabled); }
  async deleteDevice(user: string, device: string) { return this.engine.deleteDevice(user, device); }
  async addGrant(g: AddGrantInput) { return this.engine.addGrant(g); }
  async listGrants(q?: GrantQuery) { return this.engine.listGrants(q); }
  async requestClose(ids: readonly number[], reason: string) { this.engine.requestClose(ids, reason); }
  async grantsById(ids: readonly number[]) { return this.engine.grantsById(ids); }
  async audit(q: AuditQuery) { return this.engine.audit(q); }
  async prune(beforeMs: number) { return this.engine.prune(beforeMs); }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.queue.length > 0 || this.scheduled) await new Promise((r) => setImmediate(r));
    this.db.close();
  }
}

/**
 * The PostgreSQL backend of the state store, shared by a fleet of gateways (node-postgres pool).
 *
 * Exactly once fleet-wide: every accept runs in the database function tumbler_accept
 * (migrations/postgres/001_initial.sql), which locks the device row, re-checks the sequence under
 * the lock and consumes it with a conditional UPDATE; a second gateway holding a copy of the same
 * knock waits on the lock, then finds the sequence consumed (STORE_CONFLICT).
 * Group commit: accepts queue while a batch is in flight; the next batch goes in one call (one
 * commit, one WAL flush), each accept in its own subtransaction.
 * Push: ./listen.ts (LISTEN/NOTIFY with reconnect and resync).
 * Errors reaching the server or failing in it are STORE_UNAVAILABLE; nothing is granted without
 * a committed consumption.
 */
import pg from 'pg';
import { TumblerError } from '../../../shared/errors.js';
import { sequenceKey } from '../../../shared/protocol/sequence.js';
import { checkAcceptInput, checkEnrollInput, checkGrantInput, checkServices, checkUserName } from '../names.js';
import { kdfToJson, toAudit, toCandidate, toDevice, toGrant, toUser, type CandidateRow, type DeviceRow, type GrantRow, type UserRow } from '../rows.js';
import type {
  AcceptKnockInput, AcceptKnockResult, AddGrantInput, AuditInput, AuditQuery, AuditRow, Candidate, DeviceInfo, EnrollInput,
  Grant, GrantQuery, Store, StoreListener, UserInfo,
} from '../types.js';
import { PgListener } from './listen.js';

export interface PostgresStoreOptions {
  readonly gateway: string;
  readonly now?: () => number;
  /** Accepts sharing one commit at most; 1 is one commit per grant. */
  readonly maxBatch?: number;
}

interface Pending {
  readonly input: AcceptKnockInput;
  resolve(r: AcceptKnockResult): void;
  reject(e: unknown): void;
}

const DEFAULT_MAX_BATCH = 256;
const INT8_OID = 20;
/** Ids and millisecond times are int8; they fit a double exactly. */
const int8AsNumber = (oid: number, format?: unknown): ((v: string) => unknown) =>
  oid === INT8_OID ? Number : (pg.types.getTypeParser as (o: number, f?: unknown) => (v: string) => unknown)(oid, format);

/** Pool settings that keep a dead or failing-over server from hanging a knock. */
export function poolConfig(url: string, password: string | undefined, gateway: string): pg.PoolConfig {
  return {
    connectionString: url,
    ...(password !== undefined && { password }),
    application_name: `tumblerd ${gateway}`.slice(0, 63),
    max: 4,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 5_000,
    query_timeout: 6_000,
    types: { getTypeParser: int8AsNumber } as unknown as pg.CustomTypesConfig,
  };
}

const CANDIDATE = `
  SELECT s.id AS "sequenceId", s.device_id AS "deviceId", d.name AS "deviceName", u.name AS "userName", d.key AS key,
    u.enabled::int AS "userEnabled", d.enabled::int AS "deviceEnabled", u.services::text AS services, s.state AS state,
    s.parent_id AS "parentId", s.last_ts AS "lastTs", s.last_isns AS "lastIsns", s.last_address AS "lastAddress",
    s.consumed_at AS "consumedAt", s.reply AS reply,
    EXISTS (SELECT 1 FROM sequences c WHERE c.parent_id = s.id AND c.state = 'live')::int AS "successorLive"
  FROM sequences s JOIN devices d ON d.id = s.device_id JOIN users u ON u.id = d.user_id`;
const USER = `SELECT u.id, u.name, u.enabled::int AS enabled, u.services::text AS services, u.created_at,
  (SELECT count(*) FROM devices d WHERE d.user_id = u.id)::int AS devices FROM users u`;
const DEVICE = `SELECT d.id, u.name AS user_name, d.name, d.enabled::int AS enabled, d.created_at, d.kdf::text AS kdf,
  (SELECT count(*) FROM sequences s WHERE s.device_id = d.id AND s.state IN ('live', 'consumed'))::int AS active
  FROM devices d JOIN users u ON u.id = d.user_id`;
const LIVE = 'closed_at IS NULL AND expires_at > $1';
const OURS = '(gateway = $2 OR gateway IS NULL)';
const AUDIT_COLUMNS = 'id, at, gateway, event, "user", device, address, service, port, result, reason';

function sqlState(e: unknown): string | undefined {
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' && /^[0-9A-Z]{5}$/.test(c) ? c : undefined;
}

/** Any failure that is not ours to explain (server down, failing over, timeout) → STORE_UNAVAILABLE. */
function unavailable(e: unknown): unknown {
  if (e instanceof TumblerError) return e;
  const state = sqlState(e);
  const what = e instanceof Error ? e.message : String(e);
  return new TumblerError('STORE_UNAVAILABLE', `PostgreSQL: ${state ? `${state} ` : ''}${what}`, { cause: e });
}

export class PostgresStore implements Store {
  readonly gateway: string;
  private readonly now: () => number;
  private readonly maxBatch: number;
  private queue: Pending[] = [];
  private inFlight = false;
  private readonly listeners = new Set<PgListener>();

  constructor(readonly pool: pg.Pool, private readonly listenConfig: pg.ClientConfig, o: PostgresStoreOptions) {
    this.gateway = o.gateway;
    this.now = o.now ?? Date.now;
    this.maxBatch = Math.max(1, o.maxBatch ?? DEFAULT_MAX_BATCH);
    // An idle client losing its server emits 'error' on the pool: unhandled, it would end the process.
    pool.on('error', () => undefined);
  }

  private async q<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (e) {
      throw unavailable(e);
    }
  }

  /** fn inside BEGIN … COMMIT on one client; ROLLBACK on any error. */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw unavailable(e);
    }
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e instanceof TumblerError || sqlState(e) === '23505' ? e : unavailable(e);
    } finally {
      c.release();
    }
  }

  // ---- knock path -------------------------------------------------------------------------

  async findByKey(key: Buffer): Promise<Candidate | undefined> {
    const rows = await this.q<CandidateRow>(`${CANDIDATE} WHERE s.seq_key = $1 AND s.state IN ('live', 'consumed')`, [key]);
    return rows[0] ? toCandidate(rows[0]) : undefined;
  }

  acceptKnock(input: AcceptKnockInput): Promise<AcceptKnockResult> {
    try {
      checkAcceptInput(input);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.inFlight) {
        this.inFlight = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Send the queued accepts as one call; repeat while more queued up meanwhile. */
  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const items = batch.map(({ input: a }) => ({
        sequenceId: a.sequenceId, deviceId: a.deviceId, ts: a.ts, isns: a.isns.toString('hex'), address: a.address, family: a.family,
        service: a.service, port: a.port, ttlSec: a.ttlSec, next: sequenceKey(a.next).toString('hex'), reply: a.reply.toString('hex'), mode: a.mode,
      }));
      let rows: Array<{ i: number; status: string; grant_id: number | null; next_id: number | null; detail: string | null }>;
      try {
        rows = await this.q('SELECT * FROM tumbler_accept($1::jsonb, $2, $3)', [JSON.stringify(items), this.gateway, this.now()]);
      } catch (e) {
        for (const p of batch) p.reject(e); // no commit: none of the batch is consumed
        continue;
      }
      for (const r of rows) {
        const p = batch[r.i]!;
        if (r.status === 'ok') p.resolve({ grantId: r.grant_id!, nextSequenceId: r.next_id! });
        else if (r.status === 'conflict') p.reject(new TumblerError('STORE_CONFLICT', `knock no longer acceptable: ${r.detail}`));
        else if (r.status === 'collision') p.reject(new TumblerError('STORE_SEQUENCE_COLLISION', 'next sequence already in play; draw another'));
        else p.reject(new TumblerError('STORE_UNAVAILABLE', `accept failed: ${r.detail}`));
      }
    }
    this.inFlight = false;
  }

  async recordAudit(a: AuditInput): Promise<number> {
    return this.insertAudit(a, (t, v) => this.q(t, v));
  }

  private async insertAudit(a: AuditInput, run: (text: string, values: unknown[]) => Promise<Array<{ id: number }>>): Promise<number> {
    const rows = await run(`INSERT INTO audit (at, gateway, event, "user", device, address, service, port, result, reason)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [this.now(), this.gateway, a.event, a.user ?? null, a.device ?? null, a.address ?? null, a.service ?? null, a.port ?? null, a.result, a.reason ?? null]);
    return rows[0]!.id;
  }

  async liveSequenceKeys(): Promise<Buffer[]> {
    return (await this.q<{ seq_key: Buffer }>(`SELECT seq_key FROM sequences WHERE state IN ('live', 'consumed')`)).map((r) => r.seq_key);
  }

  async liveGrants(now: number): Promise<Grant[]> {
    return (await this.q<GrantRow>(`SELECT * FROM grants WHERE ${OURS} AND ${LIVE} ORDER BY id`, [now, this.gateway])).map(toGrant);
  }

  async closeRequests(now: number): Promise<Grant[]> {
    return (await this.q<GrantRow>(`SELECT * FROM grants WHERE ${OURS} AND close_requested_at IS NOT NULL AND ${LIVE} ORDER BY id`, [now, this.gateway])).map(toGrant);
  }

  async closeGrant(id: number, reason: string): Promise<Grant | undefined> {
    const found = await this.q<{ id: number }>('SELECT id FROM grants WHERE id = $1', [id]);
    if (found.length === 0) throw new TumblerError('STORE_NOT_FOUND', `no grant ${id}`);
    const rows = await this.q<GrantRow>('UPDATE grants SET closed_at = $1, close_reason = $2 WHERE id = $3 AND closed_at IS NULL RETURNING *', [this.now(), reason, id]);
    return rows[0] ? toGrant(rows[0]) : undefined;
  }

  watch(l: StoreListener): () => void {
    const listener = new PgListener(this.listenConfig, l);
    this.listeners.add(listener);
    listener.start();
    return () => {
      this.listeners.delete(listener);
      void listener.stop();
    };
  }

  // ---- users ------------------------------------------------------------------------------

  async addUser(name: string, services: readonly string[]): Promise<number> {
    checkUserName(name);
    const list = checkServices(services);
    try {
      return (await this.pool.query<{ id: number }>('INSERT INTO users (name, enabled, services, created_at) VALUES ($1, true, $2::jsonb, $3) RETURNING id',
        [name, JSON.stringify(list), this.now()])).rows[0]!.id;
    } catch (e) {
      if (sqlState(e) === '23505') throw new TumblerError('STORE_EXISTS', `user ${name} already exists`);
      throw unavailable(e);
    }
  }

  async getUser(name: string): Promise<UserInfo | undefined> {
    const rows = await this.q<UserRow>(`${USER} WHERE u.name = $1`, [name]);
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  async listUsers(): Promise<UserInfo[]> {
    return (await this.q<UserRow>(`${USER} ORDER BY u.name`)).map(toUser);
  }

  async setUserEnabled(name: string, enabled: boolean): Promise<void> {
    const rows = await this.q('UPDATE users SET enabled = $1 WHERE name = $2 RETURNING id', [enabled, name]);
    if (rows.length !== 1) throw noUser(name);
  }

  async setUserServices(name: string, services: readonly string[]): Promise<void> {
    const list = checkServices(services);
    const rows = await this.q('UPDATE users SET services = $1::jsonb WHERE name = $2 RETURNING id', [JSON.stringify(list), name]);
    if (rows.length !== 1) throw noUser(name);
  }

  async deleteUser(name: string): Promise<Grant[]> {
    return this.tx(async (c) => {
      const u = await c.query<{ id: number }>('SELECT id FROM users WHERE name = $1 FOR UPDATE', [name]);
      if (u.rows.length === 0) throw noUser(name);
      const live = await c.query<GrantRow>(`SELECT * FROM grants WHERE user_name = $2 AND ${LIVE} ORDER BY id`, [this.now(), name]);
      await c.query('DELETE FROM users WHERE id = $1', [u.rows[0]!.id]);
      return live.rows.map(toGrant);
    });
  }

  // ---- devices ----------------------------------------------------------------------------

  async enrollDevice(e: EnrollInput): Promise<number> {
    checkEnrollInput(e);
    const now = this.now();
    try {
      return await this.tx(async (c) => {
        if (e.createUser) {
          await c.query('INSERT INTO users (name, enabled, services, created_at) VALUES ($1, true, $2::jsonb, $3)', [e.user, JSON.stringify(checkServices(e.createUser)), now])
            .catch((err: unknown) => { throw sqlState(err) === '23505' ? new TumblerError('STORE_EXISTS', `user ${e.user} already exists`) : err; });
        }
        const u = await c.query<{ id: number }>('SELECT id FROM users WHERE name = $1 FOR UPDATE', [e.user]);
        if (u.rows.length === 0) throw noUser(e.user);
        let id: number;
        if (e.mode === 'add') {
          const r = await c.query<{ id: number }>(`INSERT INTO devices (user_id, name, key, kdf, enabled, created_at) VALUES ($1, $2, $3, $4::jsonb, true, $5)
            ON CONFLICT (user_id, name) DO NOTHING RETURNING id`, [u.rows[0]!.id, e.device, e.key, kdfToJson(e.kdf), now]);
          if (r.rows.length === 0) throw new TumblerError('STORE_EXISTS', `device ${e.user}/${e.device} already exists`);
          id = r.rows[0]!.id;
        } else {
          const d = await c.query<{ id: number }>('SELECT id FROM devices WHERE user_id = $1 AND name = $2 FOR UPDATE', [u.rows[0]!.id, e.device]);
          if (d.rows.length === 0) throw noDevice(e.user, e.device);
          id = d.rows[0]!.id;
          await c.query('UPDATE devices SET key = $1, kdf = $2::jsonb WHERE id = $3', [e.key, kdfToJson(e.kdf), id]);
          await c.query(`UPDATE sequences SET state = 'retired', retired_at = $1, reply = NULL WHERE device_id = $2 AND state <> 'retired'`, [now, id]);
        }
        await c.query(`INSERT INTO sequences (device_id, seq_key, parent_id, state, issued_at) VALUES ($1, $2, NULL, 'live', $3)`, [id, sequenceKey(e.first), now]);
        await this.insertAudit(e.audit, async (t, v) => (await c.query<{ id: number }>(t, v)).rows);
        return id;
      });
    } catch (err) {
      if (sqlState(err) === '23505') throw new TumblerError('STORE_SEQUENCE_COLLISION', 'sequence already in play; draw another');
      throw err;
    }
  }

  async getDevice(userName: string, deviceName: string): Promise<DeviceInfo | undefined> {
    const rows = await this.q<DeviceRow>(`${DEVICE} WHERE u.name = $1 AND d.name = $2`, [userName, deviceName]);
    return rows[0] ? toDevice(rows[0]) : undefined;
  }

  async listDevices(userName?: string): Promise<DeviceInfo[]> {
    if (userName !== undefined && !(await this.getUser(userName))) throw noUser(userName);
    return (await this.q<DeviceRow>(`${DEVICE} WHERE ($1::text IS NULL OR u.name = $1) ORDER BY u.name, d.name`, [userName ?? null])).map(toDevice);
  }

  async setDeviceEnabled(userName: string, deviceName: string, enabled: boolean): Promise<void> {
    const rows = await this.q(`UPDATE devices d SET enabled = $1 FROM users u WHERE u.id = d.user_id AND u.name = $2 AND d.name = $3 RETURNING d.id`,
      [enabled, userName, deviceName]);
    if (rows.length !== 1) throw noDevice(userName, deviceName);
  }

  async deleteDevice(userName: string, deviceName: string): Promise<Grant[]> {
    return this.tx(async (c) => {
      const d = await c.query<{ id: number }>('SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id WHERE u.name = $1 AND d.name = $2 FOR UPDATE OF d',
        [userName, deviceName]);
      if (d.rows.length === 0) throw noDevice(userName, deviceName);
      const id = d.rows[0]!.id;
      const live = await c.query<GrantRow>(`SELECT * FROM grants WHERE device_id = $2 AND ${LIVE} ORDER BY id`, [this.now(), id]);
      await c.query('DELETE FROM devices WHERE id = $1', [id]);
      return live.rows.map(toGrant);
    });
  }

  // ---- grants -----------------------------------------------------------------------------

  async addGrant(g: AddGrantInput): Promise<number> {
    checkGrantInput(g);
    const now = this.now();
    const rows = await this.q<{ id: number }>(`INSERT INTO grants (gateway, device_id, user_name, device_name, family, address, port, service, opened_at, expires_at)
      VALUES ($1, NULL, $2, NULL, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [this.gateway, g.userName ?? null, g.family, g.address, g.port, g.service, now, now + g.ttlSec * 1000]);
    return rows[0]!.id;
  }

  async listGrants(q: GrantQuery = {}): Promise<Grant[]> {
    const rows = await this.q<GrantRow>(`SELECT * FROM grants WHERE (NOT $1::boolean OR (closed_at IS NULL AND expires_at > $2)) ORDER BY id DESC LIMIT $3`,
      [q.activeOnly === true, q.now ?? this.now(), q.limit ?? null]);
    return rows.map(toGrant);
  }

  async requestClose(ids: readonly number[], reason: string): Promise<void> {
    if (ids.length === 0) return;
    await this.q('UPDATE grants SET close_requested_at = $1, close_reason = $2 WHERE id = ANY($3::bigint[]) AND closed_at IS NULL', [this.now(), reason, [...ids]]);
  }

  async grantsById(ids: readonly number[]): Promise<Grant[]> {
    return (await this.q<GrantRow>('SELECT * FROM grants WHERE id = ANY($1::bigint[]) ORDER BY id', [[...ids]])).map(toGrant);
  }

  // ---- audit and housekeeping -------------------------------------------------------------

  async audit(q: AuditQuery): Promise<AuditRow[]> {
    const rows = await this.q<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE ($1::text IS NULL OR "user" = $1) AND at >= $2 ORDER BY id DESC LIMIT $3`,
      [q.user ?? null, q.sinceMs ?? 0, q.limit]);
    return rows.reverse().map(toAudit);
  }

  async prune(beforeMs: number): Promise<{ sequences: number; grants: number; audit: number }> {
    return this.tx(async (c) => ({
      sequences: (await c.query(`DELETE FROM sequences WHERE state = 'retired' AND retired_at < $1`, [beforeMs])).rowCount ?? 0,
      grants: (await c.query('DELETE FROM grants WHERE coalesce(closed_at, expires_at) < $1 AND expires_at < $1', [beforeMs])).rowCount ?? 0,
      audit: (await c.query('DELETE FROM audit WHERE at < $1', [beforeMs])).rowCount ?? 0,
    }));
  }

  async close(): Promise<void> {
    while (this.inFlight) await new Promise((r) => setTimeout(r, 5));
    await Promise.all([...this.listeners].map((l) => l.stop()));
    this.listeners.clear();
    await this.pool.end();
  }
}

function noUser(name: string): TumblerError {
  return new TumblerError('STORE_NOT_FOUND', `no user ${name}`);
}

function noDevice(user: string, device: string): TumblerError {
  return new TumblerError('STORE_NOT_FOUND', `no device ${user}/${device}`);
}

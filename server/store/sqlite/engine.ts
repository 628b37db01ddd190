/**
 * The SQLite engine of the state store (better-sqlite3, synchronous, prepared statements made
 * once); server/store/sqlite/store.ts puts the asynchronous contract and group commit around it.
 * The knock path: one indexed lookup by sequence key, and one transaction per accepted knock that
 * consumes (or recovers) the sequence, issues the next, records the grant and the audit row. Called
 * inside an outer transaction (group commit), better-sqlite3 turns that into a savepoint. Admin
 * edits commit from other processes; the daemon polls dataVersion().
 */
import type Database from 'better-sqlite3';
import { TumblerError } from '../../../shared/errors.js';
import { sequenceKey, type Sequence } from '../../../shared/protocol/sequence.js';
import { checkAcceptInput, checkEnrollInput, checkGrantInput, checkServices, checkUserName } from '../names.js';
import { kdfToJson, parseServices, toAudit, toCandidate, toDevice, toGrant, toUser, type CandidateRow, type DeviceRow, type GrantRow, type UserRow } from '../rows.js';
import type {
  AcceptKnockInput, AcceptKnockResult, AddGrantInput, AuditInput, AuditQuery, AuditRow, Candidate,
  DeviceInfo, EnrollInput, Grant, GrantQuery, UserInfo,
} from '../types.js';

/** Steps inside acceptKnock after which `faultAfterStep` is called ('committed' is after COMMIT). */
export const ACCEPT_STEPS = ['consumed', 'retired', 'issued', 'granted', 'audited', 'committed'] as const;
export type AcceptStep = (typeof ACCEPT_STEPS)[number];

export interface SqliteEngineOptions {
  readonly now?: () => number;
  /** The gateway written on grants and audit rows (config fleet.gateway). */
  readonly gateway?: string;
  /** Crash-test hook: called between the steps of acceptKnock. */
  readonly faultAfterStep?: (step: AcceptStep) => void;
}

const CANDIDATE_COLUMNS = `
  s.id AS sequenceId, s.device_id AS deviceId, d.name AS deviceName, u.name AS userName, d.key AS key,
  u.enabled AS userEnabled, d.enabled AS deviceEnabled, u.services AS services, s.state AS state,
  s.parent_id AS parentId, s.last_ts AS lastTs, s.last_isns AS lastIsns, s.last_address AS lastAddress,
  s.consumed_at AS consumedAt, s.reply AS reply,
  EXISTS (SELECT 1 FROM sequences c WHERE c.parent_id = s.id AND c.state = 'live') AS successorLive
  FROM sequences s JOIN devices d ON d.id = s.device_id JOIN users u ON u.id = d.user_id`;
const LIVE_GRANT = 'closed_at IS NULL AND expires_at > @now';
/** This gateway's grants; rows older than the fleet (gateway NULL) are this host's. */
const OURS = '(gateway = @gateway OR gateway IS NULL)';

function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function conflict(what: string): TumblerError {
  return new TumblerError('STORE_CONFLICT', `knock no longer acceptable: ${what}`);
}

function bit(b: boolean): number {
  return b ? 1 : 0;
}

export class SqliteEngine {
  readonly gateway: string;
  private readonly now: () => number;
  private readonly fault: (step: AcceptStep) => void;
  private readonly q;

  constructor(readonly db: Database.Database, o: SqliteEngineOptions = {}) {
    this.now = o.now ?? Date.now;
    this.gateway = o.gateway ?? 'local';
    this.fault = o.faultAfterStep ?? (() => undefined);
    const p = (sql: string) => db.prepare(sql);
    this.q = {
      findByKey: p(`SELECT ${CANDIDATE_COLUMNS} WHERE s.seq_key = ? AND s.state IN ('live', 'consumed')`),
      acceptCheck: p(`SELECT ${CANDIDATE_COLUMNS} WHERE s.id = ?`),
      liveKeys: p(`SELECT seq_key FROM sequences WHERE state IN ('live', 'consumed')`).pluck(),
      consume: p(`UPDATE sequences SET state = 'consumed', consumed_at = @now, last_ts = @ts, last_isns = @isns,
        last_address = @address, reply = @reply WHERE id = @id AND state = @expect`),
      retireOthers: p(`UPDATE sequences SET state = 'retired', retired_at = @now, reply = NULL, reply_meta = NULL
        WHERE device_id = @deviceId AND id <> @keep AND state <> 'retired'`),
      retireAll: p(`UPDATE sequences SET state = 'retired', retired_at = @now, reply = NULL, reply_meta = NULL
        WHERE device_id = @deviceId AND state <> 'retired'`),
      insertSequence: p(`INSERT INTO sequences (device_id, seq_key, parent_id, state, issued_at) VALUES (?, ?, ?, 'live', ?)`),
      insertGrant: p(`INSERT INTO grants (gateway, device_id, user_name, device_name, family, address, port, service, opened_at, expires_at)
        VALUES (@gateway, @deviceId, @userName, @deviceName, @family, @address, @port, @service, @now, @expiresAt)`),
      insertAudit: p(`INSERT INTO audit (at, gateway, event, user, device, address, service, port, result, reason)
        VALUES (@at, @gateway, @event, @user, @device, @address, @service, @port, @result, @reason)`),
      dataVersion: p('PRAGMA data_version').pluck(),
      // users
      insertUser: p('INSERT INTO users (name, enabled, services, created_at) VALUES (?, 1, ?, ?)'),
      userId: p('SELECT id FROM users WHERE name = ?').pluck(),
      getUser: p('SELECT u.*, (SELECT count(*) FROM devices d WHERE d.user_id = u.id) AS devices FROM users u WHERE u.name = ?'),
      listUsers: p('SELECT u.*, (SELECT count(*) FROM devices d WHERE d.user_id = u.id) AS devices FROM users u ORDER BY u.name'),
      setUserEnabled: p('UPDATE users SET enabled = ? WHERE name = ?'),
      setUserServices: p('UPDATE users SET services = ? WHERE name = ?'),
      deleteUser: p('DELETE FROM users WHERE id = ?'),
      // devices
      insertDevice: p('INSERT INTO devices (user_id, name, key, kdf, enabled, created_at) VALUES (?, ?, ?, ?, 1, ?)'),
      deviceId: p('SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id WHERE u.name = ? AND d.name = ?').pluck(),
      deviceSelect: p(`SELECT d.id, u.name AS user_name, d.name, d.enabled, d.created_at, d.kdf,
        (SELECT count(*) FROM sequences s WHERE s.device_id = d.id AND s.state IN ('live', 'consumed')) AS active
        FROM devices d JOIN users u ON u.id = d.user_id
        WHERE (@user IS NULL OR u.name = @user) AND (@device IS NULL OR d.name = @device) ORDER BY u.name, d.name`),
      setDeviceEnabled: p('UPDATE devices SET enabled = ? WHERE id = ?'),
      setDeviceKey: p('UPDATE devices SET key = ?, kdf = ? WHERE id = ?'),
      deleteDevice: p('DELETE FROM devices WHERE id = ?'),
      // grants
      grantById: p('SELECT * FROM grants WHERE id = ?'),
      liveGrants: p(`SELECT * FROM grants WHERE ${OURS} AND ${LIVE_GRANT} ORDER BY id`),
      closeRequests: p(`SELECT * FROM grants WHERE ${OURS} AND close_requested_at IS NOT NULL AND ${LIVE_GRANT} ORDER BY id`),
      requestClose: p('UPDATE grants SET close_requested_at = @now, close_reason = @reason WHERE id = @id AND closed_at IS NULL'),
      liveGrantsOfUser: p(`SELECT * FROM grants WHERE user_name = @user AND ${LIVE_GRANT} ORDER BY id`),
      liveGrantsOfDevice: p(`SELECT * FROM grants WHERE device_id = @deviceId AND ${LIVE_GRANT} ORDER BY id`),
      listGrants: p(`SELECT * FROM grants WHERE (@active = 0 OR (${LIVE_GRANT})) ORDER BY id DESC LIMIT @limit`),
      closeGrant: p('UPDATE grants SET closed_at = ?, close_reason = ? WHERE id = ? AND closed_at IS NULL'),
      // audit
      audit: p(`SELECT * FROM audit WHERE (@user IS NULL OR user = @user) AND at >= @since ORDER BY id DESC LIMIT @limit`),
      // housekeeping
      pruneSequences: p(`DELETE FROM sequences WHERE state = 'retired' AND retired_at < ?`),
      pruneGrants: p('DELETE FROM grants WHERE coalesce(closed_at, expires_at) < ? AND expires_at < ?'),
      pruneAudit: p('DELETE FROM audit WHERE at < ?'),
    };
  }

  // ---- knock path -------------------------------------------------------------------------

  findByKey(key: Buffer): Candidate | undefined {
    const r = this.q.findByKey.get(key) as CandidateRow | undefined;
    return r ? toCandidate(r) : undefined;
  }

  liveSequenceKeys(): Buffer[] {
    return this.q.liveKeys.all() as Buffer[];
  }

  dataVersion(): number {
    return this.q.dataVersion.get() as number;
  }

  /**
   * One transaction: consume (mode 'first') or recover (mode 'recovery') the sequence, retire the
   * device's other sequences, issue `next`, record the grant and the audit row. Preconditions are
   * re-checked under the write lock: STORE_CONFLICT when they no longer hold, and
   * STORE_SEQUENCE_COLLISION when `next` is already in play (draw another and call again).
   */
  acceptKnock(a: AcceptKnockInput): AcceptKnockResult {
    checkAcceptInput(a);
    const nextKey = sequenceKey(a.next);
    const run = this.db.transaction((): AcceptKnockResult => {
      const now = this.now();
      const c = this.q.acceptCheck.get(a.sequenceId) as CandidateRow | undefined;
      if (!c || c.deviceId !== a.deviceId) throw conflict('sequence not found for this device');
      if (a.mode === 'first') {
        if (c.state !== 'live') throw conflict('sequence is not live');
      } else if (!(c.state === 'consumed' && c.successorLive === 1 && c.lastTs !== null && a.ts > c.lastTs)) {
        throw conflict('no recoverable consumed sequence');
      }
      if (c.userEnabled !== 1 || c.deviceEnabled !== 1) throw conflict('user or device disabled');
      if (!parseServices(c.services).includes(a.service)) throw conflict('service not allowed');

      const consumed = this.q.consume.run({
        id: a.sequenceId, expect: a.mode === 'first' ? 'live' : 'consumed', now, ts: a.ts, isns: a.isns,
        address: a.address, reply: a.reply,
      });
      if (consumed.changes !== 1) throw conflict('sequence changed');
      this.fault('consumed');
      // 'first': the consumed parent (if any) and strays; 'recovery': the unused successor.
      this.q.retireOthers.run({ now, deviceId: a.deviceId, keep: a.sequenceId });
      this.fault('retired');
      let nextSequenceId: number;
      try {
        nextSequenceId = Number(this.q.insertSequence.run(a.deviceId, nextKey, a.sequenceId, now).lastInsertRowid);
      } catch (e) {
        if (isUniqueViolation(e)) throw new TumblerError('STORE_SEQUENCE_COLLISION', 'next sequence already in play; draw another');
        throw e;
      }
      this.fault('issued');
      const grantId = Number(this.q.insertGrant.run({
        gateway: this.gateway, deviceId: a.deviceId, userName: c.userName, deviceName: c.deviceName, family: a.family, address: a.address,
        port: a.port, service: a.service, now, expiresAt: now + a.ttlSec * 1000,
      }).lastInsertRowid);
      this.fault('granted');
      this.insertAudit({
        event: 'knock', user: c.userName, device: c.deviceName, address: a.address, service: a.service, port: a.port,
        result: 'granted', reason: a.mode === 'recovery' ? 'RECOVERY' : null,
      }, now);
      this.fault('audited');
      return { grantId, nextSequenceId };
    });
    const result = run.immediate();
    this.fault('committed');
    return result;
  }

  recordAudit(a: AuditInput): number {
    return this.insertAudit(a, this.now());
  }

  private insertAudit(a: AuditInput, at: number): number {
    return Number(this.q.insertAudit.run({
      at, gateway: this.gateway, event: a.event, user: a.user ?? null, device: a.device ?? null, address: a.address ?? null,
      service: a.service ?? null, port: a.port ?? null, result: a.result, reason: a.reason ?? null,
    }).lastInsertRowid);
  }

  // ---- users ------------------------------------------------------------------------------

  addUser(name: string, services: readonly string[]): number {
    checkUserName(name);
    const list = checkServices(services);
    try {
      return Number(this.q.insertUser.run(name, JSON.stringify(list), this.now()).lastInsertRowid);
    } catch (e) {
      if (isUniqueViolation(e)) throw new TumblerError('STORE_EXISTS', `user ${name} already exists`);
      throw e;
    }
  }

  getUser(name: string): UserInfo | undefined {
    const r = this.q.getUser.get(name) as UserRow | undefined;
    return r ? toUser(r) : undefined;
  }

  listUsers(): UserInfo[] {
    return (this.q.listUsers.all() as UserRow[]).map(toUser);
  }

  setUserEnabled(name: string, enabled: boolean): void {
    if (this.q.setUserEnabled.run(bit(enabled), name).changes !== 1) throw this.noUser(name);
  }

  setUserServices(name: string, services: readonly string[]): void {
    const list = checkServices(services);
    if (this.q.setUserServices.run(JSON.stringify(list), name).changes !== 1) throw this.noUser(name);
  }

  /** Deletes the user with its devices and sequences; grant rows stay (device_id set NULL). */
  deleteUser(name: string): Grant[] {
    return this.db.transaction((): Grant[] => {
      const id = this.userIdOf(name);
      const live = (this.q.liveGrantsOfUser.all({ user: name, now: this.now() }) as GrantRow[]).map(toGrant);
      this.q.deleteUser.run(id);
      return live;
    }).immediate();
  }

  // ---- devices ----------------------------------------------------------------------------

  /** One transaction: (the user,) the device (new, or re-keyed with every old sequence retired), its first sequence, the audit row. */
  enrollDevice(e: EnrollInput): number {
    checkEnrollInput(e);
    return this.db.transaction((): number => {
      const now = this.now();
      if (e.createUser) this.addUser(e.user, e.createUser);
      const userId = this.userIdOf(e.user);
      let id: number;
      if (e.mode === 'add') {
        try {
          id = Number(this.q.insertDevice.run(userId, e.device, e.key, kdfToJson(e.kdf), now).lastInsertRowid);
        } catch (err) {
          if (isUniqueViolation(err)) throw new TumblerError('STORE_EXISTS', `device ${e.user}/${e.device} already exists`);
          throw err;
        }
      } else {
        id = this.deviceIdOf(e.user, e.device);
        this.q.setDeviceKey.run(e.key, kdfToJson(e.kdf), id);
        this.q.retireAll.run({ now, deviceId: id });
      }
      this.issueFirst(id, e.first, now);
      this.insertAudit(e.audit, now);
      return id;
    }).immediate();
  }

  getDevice(userName: string, deviceName: string): DeviceInfo | undefined {
    const r = this.q.deviceSelect.get({ user: userName, device: deviceName }) as DeviceRow | undefined;
    return r ? toDevice(r) : undefined;
  }

  listDevices(userName?: string): DeviceInfo[] {
    if (userName !== undefined) this.userIdOf(userName);
    return (this.q.deviceSelect.all({ user: userName ?? null, device: null }) as DeviceRow[]).map(toDevice);
  }

  setDeviceEnabled(userName: string, deviceName: string, enabled: boolean): void {
    this.q.setDeviceEnabled.run(bit(enabled), this.deviceIdOf(userName, deviceName));
  }

  deleteDevice(userName: string, deviceName: string): Grant[] {
    return this.db.transaction((): Grant[] => {
      const id = this.deviceIdOf(userName, deviceName);
      const live = (this.q.liveGrantsOfDevice.all({ deviceId: id, now: this.now() }) as GrantRow[]).map(toGrant);
      this.q.deleteDevice.run(id);
      return live;
    }).immediate();
  }

  private issueFirst(deviceId: number, s: Sequence, now: number): void {
    try {
      this.q.insertSequence.run(deviceId, sequenceKey(s), null, now);
    } catch (e) {
      if (isUniqueViolation(e)) throw new TumblerError('STORE_SEQUENCE_COLLISION', 'sequence already in play; draw another');
      throw e;
    }
  }

  // ---- grants -----------------------------------------------------------------------------

  /** An admin (break-glass) grant, not tied to a device. */
  addGrant(g: AddGrantInput): number {
    checkGrantInput(g);
    const now = this.now();
    return Number(this.q.insertGrant.run({
      gateway: this.gateway, deviceId: null, userName: g.userName ?? null, deviceName: null, family: g.family, address: g.address,
      port: g.port, service: g.service, now, expiresAt: now + g.ttlSec * 1000,
    }).lastInsertRowid);
  }

  /** Newest first. */
  listGrants(q: GrantQuery = {}): Grant[] {
    const rows = this.q.listGrants.all({ active: bit(q.activeOnly === true), now: q.now ?? this.now(), limit: q.limit ?? -1 }) as GrantRow[];
    return rows.map(toGrant);
  }

  liveGrants(now: number): Grant[] {
    return (this.q.liveGrants.all({ now, gateway: this.gateway }) as GrantRow[]).map(toGrant);
  }

  closeRequests(now: number): Grant[] {
    return (this.q.closeRequests.all({ now, gateway: this.gateway }) as GrantRow[]).map(toGrant);
  }

  requestClose(ids: readonly number[], reason: string): void {
    const now = this.now();
    this.db.transaction(() => { for (const id of ids) this.q.requestClose.run({ id, now, reason }); }).immediate();
  }

  /** In id order. */
  grantsById(ids: readonly number[]): Grant[] {
    return [...new Set(ids)].sort((a, b) => a - b).map((id) => this.q.grantById.get(id) as GrantRow | undefined).filter((r): r is GrantRow => r !== undefined).map(toGrant);
  }

  /** Closes a grant: returns it closed, or undefined when it was already closed. */
  closeGrant(id: number, reason: string): Grant | undefined {
    return this.db.transaction((): Grant | undefined => {
      if (!this.q.grantById.get(id)) throw new TumblerError('STORE_NOT_FOUND', `no grant ${id}`);
      if (this.q.closeGrant.run(this.now(), reason, id).changes !== 1) return undefined;
      return toGrant(this.q.grantById.get(id) as GrantRow);
    }).immediate();
  }

  // ---- audit and housekeeping -------------------------------------------------------------

  /** The newest `limit` rows matching, oldest first. */
  audit(q: AuditQuery): AuditRow[] {
    const rows = this.q.audit.all({ user: q.user ?? null, since: q.sinceMs ?? 0, limit: q.limit }) as AuditRow[];
    return rows.reverse().map(toAudit);
  }

  /** Delete history older than `beforeMs`: retired sequences, ended grants, audit rows. */
  prune(beforeMs: number): { sequences: number; grants: number; audit: number } {
    return this.db.transaction(() => ({
      sequences: this.q.pruneSequences.run(beforeMs).changes,
      grants: this.q.pruneGrants.run(beforeMs, beforeMs).changes,
      audit: this.q.pruneAudit.run(beforeMs).changes,
    })).immediate();
  }

  // ---- helpers ----------------------------------------------------------------------------

  private noUser(name: string): TumblerError {
    return new TumblerError('STORE_NOT_FOUND', `no user ${name}`);
  }

  private userIdOf(name: string): number {
    const id = this.q.userId.get(name) as number | undefined;
    if (id === undefined) throw this.noUser(name);
    return id;
  }

  private deviceIdOf(userName: string, deviceName: string): number {
    const id = this.q.deviceId.get(userName, deviceName) as number | undefined;
    if (id === undefined) throw new TumblerError('STORE_NOT_FOUND', `no device ${userName}/${deviceName}`);
    return id;
  }
}

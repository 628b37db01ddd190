/**
 * The state store's contract. `KnockStore` is what the daemon's knock path needs (kept small so a
 * PostgreSQL store for a gateway fleet can implement it later); `AdminStore` is what the admin CLI
 * needs. Times are Unix milliseconds except `ts` / `lastTs`, the knock's own timestamp in seconds.
 */
import type { KdfParams } from '../../shared/protocol/kdf.js';
import type { KnockRange, Sequence } from '../../shared/protocol/sequence.js';

export type SequenceState = 'live' | 'consumed';
export type AcceptMode = 'first' | 'recovery';
export type ReplyMeta = Readonly<Record<string, unknown>>;

/** What one index lookup by sequence key returns: the device, its key and the sequence's state. */
export interface Candidate {
  readonly sequenceId: number;
  readonly deviceId: number;
  readonly deviceName: string;
  readonly userName: string;
  /** The scrypt-derived AES-128 device key (16 bytes). */
  readonly key: Buffer;
  readonly userEnabled: boolean;
  readonly deviceEnabled: boolean;
  /** Service names the user may open. */
  readonly services: readonly string[];
  readonly state: SequenceState;
  /** The sequence whose accepted knock issued this one; null for the enrollment sequence. */
  readonly parentId: number | null;
  /** Full knock timestamp (s) of the last accepted knock on this sequence (consumed only). */
  readonly lastTs: number | null;
  /** The 3 ISNs (12 bytes) of that knock, for retransmit detection. */
  readonly lastIsns: Buffer | null;
  readonly lastAddress: string | null;
  readonly consumedAt: number | null;
  /** The sealed reply to re-send on a retransmit. */
  readonly reply: Buffer | null;
  readonly replyMeta: ReplyMeta | null;
  /** A live sequence exists whose parent is this one (its successor, never used yet). */
  readonly successorLive: boolean;
}

export interface AcceptKnockInput {
  readonly sequenceId: number;
  readonly deviceId: number;
  /** Full knock timestamp, seconds. */
  readonly ts: number;
  /** The knock's 3 ISNs, 12 bytes. */
  readonly isns: Buffer;
  readonly address: string;
  readonly family: 4 | 6;
  readonly service: string;
  /** The forward port opened in the firewall. */
  readonly port: number;
  readonly ttlSec: number;
  /** The next one-time sequence, sealed into `reply`. */
  readonly next: Sequence;
  readonly reply: Buffer;
  readonly replyMeta: ReplyMeta;
  readonly mode: AcceptMode;
}

export interface AcceptKnockResult {
  readonly grantId: number;
  /** Row id of the newly issued sequence. */
  readonly nextSequenceId: number;
}

export interface AuditInput {
  readonly event: string;
  readonly user?: string | null;
  readonly device?: string | null;
  readonly address?: string | null;
  readonly service?: string | null;
  readonly port?: number | null;
  readonly result: string;
  readonly reason?: string | null;
}

export interface AuditRow {
  readonly id: number;
  readonly at: number;
  readonly event: string;
  readonly user: string | null;
  readonly device: string | null;
  readonly address: string | null;
  readonly service: string | null;
  readonly port: number | null;
  readonly result: string;
  readonly reason: string | null;
}

export interface Grant {
  readonly id: number;
  /** Null for an admin (break-glass) grant, or once its device was deleted. */
  readonly deviceId: number | null;
  readonly userName: string | null;
  readonly deviceName: string | null;
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
  readonly service: string;
  readonly openedAt: number;
  readonly expiresAt: number;
  readonly closedAt: number | null;
  readonly closeReason: string | null;
}

export interface AddGrantInput {
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
  readonly service: string;
  readonly ttlSec: number;
  /** Who asked (recorded for the audit trail); the grant has no device. */
  readonly userName?: string | null;
}

export interface UserInfo {
  readonly id: number;
  readonly name: string;
  readonly enabled: boolean;
  readonly services: readonly string[];
  readonly createdAt: number;
  readonly devices: number;
}

export interface DeviceInfo {
  readonly id: number;
  readonly userName: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly createdAt: number;
  /** KDF parameters (salt is not secret); the key itself is never listed. */
  readonly kdf: KdfParams;
  /** Sequences in play (live or consumed). */
  readonly activeSequences: number;
}

export interface AuditQuery {
  readonly user?: string;
  readonly sinceMs?: number;
  readonly limit: number;
}

export interface GrantQuery {
  readonly activeOnly?: boolean;
  /** Reference time for activeOnly (ms); defaults to the store's clock. */
  readonly now?: number;
  readonly limit?: number;
}

/** What the daemon's knock path and reconcile need. */
export interface KnockStore {
  findByKey(key: Buffer): Candidate | undefined;
  acceptKnock(a: AcceptKnockInput): AcceptKnockResult;
  recordAudit(a: AuditInput): number;
  /** Keys of every sequence in play (live or consumed), for the per-packet filter. */
  liveSequenceKeys(): Iterable<Buffer>;
  /** Grants open at `now`: expires_at > now and not closed. */
  liveGrants(now: number): Grant[];
  closeGrant(id: number, reason: string): Grant | undefined;
  /** Changes when another connection commits (admin edits); poll it. */
  dataVersion(): number;
  /** A fresh random sequence in `range` that no sequence in play uses. */
  generateUniqueSequence(range: KnockRange): Sequence;
}

/** What the admin CLI needs on top. */
export interface AdminStore {
  addUser(name: string, services: readonly string[]): number;
  getUser(name: string): UserInfo | undefined;
  listUsers(): UserInfo[];
  setUserEnabled(name: string, enabled: boolean): void;
  setUserServices(name: string, services: readonly string[]): void;
  /** Deletes the user, its devices and sequences; returns the grants that were live. */
  deleteUser(name: string): Grant[];
  addDevice(userName: string, deviceName: string, key: Buffer, kdf: KdfParams, firstSeq: Sequence): number;
  getDevice(userName: string, deviceName: string): DeviceInfo | undefined;
  listDevices(userName?: string): DeviceInfo[];
  setDeviceEnabled(userName: string, deviceName: string, enabled: boolean): void;
  deleteDevice(userName: string, deviceName: string): Grant[];
  reenrollDevice(userName: string, deviceName: string, key: Buffer, kdf: KdfParams, firstSeq: Sequence): number;
  addGrant(g: AddGrantInput): number;
  listGrants(q?: GrantQuery): Grant[];
  /** Close every live grant of a user (by name) or a device (by id); returns those closed. */
  closeGrantsOf(who: string | number, reason: string): Grant[];
  audit(q: AuditQuery): AuditRow[];
}

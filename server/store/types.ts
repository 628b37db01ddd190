/**
 * The state store's contract, asynchronous and split by who uses it: `KnockStore` is what a
 * gateway's worker needs on its knock path (lookup, the accept transaction, its own grants, the
 * push of changes made elsewhere); `AdminStore` is what the admin CLI needs. Two backends
 * implement both: SQLite (one host, the default) and PostgreSQL (a fleet of gateways). Times are
 * Unix milliseconds except `ts` / `lastTs`, the knock's own timestamp in seconds.
 */
import type { IpFamily } from '../../shared/net/address.js';
import type { KdfParams } from '../../shared/protocol/kdf.js';
import type { Sequence } from '../../shared/protocol/sequence.js';

export type SequenceState = 'live' | 'consumed';
export type AcceptMode = 'first' | 'recovery';

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
  readonly family: IpFamily;
  readonly service: string;
  /** The forward port opened in the firewall. */
  readonly port: number;
  readonly ttlSec: number;
  /** The next one-time sequence, sealed into `reply`. */
  readonly next: Sequence;
  readonly reply: Buffer;
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
  /** The gateway (or admin host) that wrote the row; null for rows older than the fleet. */
  readonly gateway: string | null;
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
  /** The gateway whose firewall holds the grant; null for grants older than the fleet (local). */
  readonly gateway: string | null;
  /** Null for an admin (break-glass) grant, or once its device was deleted. */
  readonly deviceId: number | null;
  readonly userName: string | null;
  readonly deviceName: string | null;
  readonly family: IpFamily;
  readonly address: string;
  readonly port: number;
  readonly service: string;
  readonly openedAt: number;
  readonly expiresAt: number;
  readonly closedAt: number | null;
  readonly closeReason: string | null;
  /** An admin asked the owning gateway to close it (set until that gateway has). */
  readonly closeRequestedAt: number | null;
}

export interface AddGrantInput {
  readonly family: IpFamily;
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

/** One enrollment, in one transaction: (the user,) the device and its first sequence, the audit row. */
export interface EnrollInput {
  readonly user: string;
  readonly device: string;
  readonly mode: 'add' | 'reenroll';
  /** Create the user first with these services (`user add`). */
  readonly createUser?: readonly string[];
  readonly key: Buffer;
  readonly kdf: KdfParams;
  readonly first: Sequence;
  readonly audit: AuditInput;
}

/** What a gateway hears about changes made elsewhere (another gateway, an admin command). */
export interface StoreListener {
  /** A sequence was issued somewhere (its 9-byte key): the pre-filter must pass it. */
  sequenceIssued(key: Buffer): void;
  /** Something else changed (users, devices, close requests): re-check what depends on it. */
  changed(): void;
  /** Notifications may have been missed (a reconnect): rebuild everything derived from the store. */
  resync(): void;
}

/** What a gateway's worker needs: the knock path, its own grants, and the push. */
export interface KnockStore {
  /** The gateway this store writes grants and audit rows for. */
  readonly gateway: string;
  findByKey(key: Buffer): Promise<Candidate | undefined>;
  /**
   * One transaction: consume (or recover) the sequence, retire the device's others, issue `next`,
   * record the grant and the audit row. STORE_CONFLICT when the knock is no longer acceptable
   * (another gateway or a concurrent packet won), STORE_SEQUENCE_COLLISION when `next` is in play.
   * Concurrent calls may share one commit (group commit); one failing leaves the others intact.
   */
  acceptKnock(a: AcceptKnockInput): Promise<AcceptKnockResult>;
  recordAudit(a: AuditInput): Promise<number>;
  /** Keys of every sequence in play (live or consumed) fleet-wide, for the per-packet filter. */
  liveSequenceKeys(): Promise<Buffer[]>;
  /** This gateway's grants open at `now`: expires_at > now and not closed. */
  liveGrants(now: number): Promise<Grant[]>;
  /** This gateway's open grants that an admin asked to close. */
  closeRequests(now: number): Promise<Grant[]>;
  /** Closes a grant: returns it closed, or undefined when it was already closed. */
  closeGrant(id: number, reason: string): Promise<Grant | undefined>;
  /** Hear about changes made elsewhere; returns the function that stops listening. */
  watch(l: StoreListener): () => void;
  close(): Promise<void>;
}

/** What the admin CLI needs. */
export interface AdminStore {
  readonly gateway: string;
  addUser(name: string, services: readonly string[]): Promise<number>;
  getUser(name: string): Promise<UserInfo | undefined>;
  listUsers(): Promise<UserInfo[]>;
  setUserEnabled(name: string, enabled: boolean): Promise<void>;
  setUserServices(name: string, services: readonly string[]): Promise<void>;
  /** Deletes the user, its devices and sequences; returns the grants (fleet-wide) that were live. */
  deleteUser(name: string): Promise<Grant[]>;
  /** STORE_SEQUENCE_COLLISION when `first` is in play: draw another and call again. */
  enrollDevice(e: EnrollInput): Promise<number>;
  getDevice(userName: string, deviceName: string): Promise<DeviceInfo | undefined>;
  listDevices(userName?: string): Promise<DeviceInfo[]>;
  setDeviceEnabled(userName: string, deviceName: string, enabled: boolean): Promise<void>;
  deleteDevice(userName: string, deviceName: string): Promise<Grant[]>;
  /** A break-glass grant on this gateway, not tied to a device. */
  addGrant(g: AddGrantInput): Promise<number>;
  /** Fleet-wide, newest first. */
  listGrants(q?: GrantQuery): Promise<Grant[]>;
  /** This gateway's grants open at `now`. */
  liveGrants(now: number): Promise<Grant[]>;
  closeGrant(id: number, reason: string): Promise<Grant | undefined>;
  /** Ask the gateways owning these grants to close them (each closes its own kernel elements). */
  requestClose(ids: readonly number[], reason: string): Promise<void>;
  /** Grants by id (closed or not), to follow requested closes. */
  grantsById(ids: readonly number[]): Promise<Grant[]>;
  recordAudit(a: AuditInput): Promise<number>;
  audit(q: AuditQuery): Promise<AuditRow[]>;
  /** Delete history older than `beforeMs`: retired sequences, ended grants, audit rows. */
  prune(beforeMs: number): Promise<{ sequences: number; grants: number; audit: number }>;
  close(): Promise<void>;
}

/** Both sides: what openStore returns. */
export type Store = KnockStore & AdminStore;

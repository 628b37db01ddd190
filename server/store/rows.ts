/**
 * Row shapes as both backends return them (the PostgreSQL queries cast to the same shapes: 0/1
 * for flags, JSON as text, numbers for ids and times), and their mapping to the store's public
 * types (0/1 → boolean, JSON text → values, snake_case → camelCase).
 */
import type { KdfParams } from '../../shared/protocol/kdf.js';
import type { AuditRow, Candidate, DeviceInfo, Grant, UserInfo } from './types.js';

export interface CandidateRow {
  sequenceId: number;
  deviceId: number;
  deviceName: string;
  userName: string;
  key: Buffer;
  userEnabled: number;
  deviceEnabled: number;
  services: string;
  state: 'live' | 'consumed';
  parentId: number | null;
  lastTs: number | null;
  lastIsns: Buffer | null;
  lastAddress: string | null;
  consumedAt: number | null;
  reply: Buffer | null;
  successorLive: number;
}

export interface GrantRow {
  id: number;
  gateway: string | null;
  device_id: number | null;
  user_name: string | null;
  device_name: string | null;
  family: number;
  address: string;
  port: number;
  service: string;
  opened_at: number;
  expires_at: number;
  closed_at: number | null;
  close_reason: string | null;
  close_requested_at: number | null;
}

export interface UserRow {
  id: number;
  name: string;
  enabled: number;
  services: string;
  created_at: number;
  devices: number;
}

export interface DeviceRow {
  id: number;
  user_name: string;
  name: string;
  enabled: number;
  created_at: number;
  kdf: string;
  active: number;
}

export function parseServices(text: string): string[] {
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

export function toCandidate(r: CandidateRow): Candidate {
  return {
    sequenceId: r.sequenceId,
    deviceId: r.deviceId,
    deviceName: r.deviceName,
    userName: r.userName,
    key: r.key,
    userEnabled: r.userEnabled === 1,
    deviceEnabled: r.deviceEnabled === 1,
    services: parseServices(r.services),
    state: r.state,
    parentId: r.parentId,
    lastTs: r.lastTs,
    lastIsns: r.lastIsns,
    lastAddress: r.lastAddress,
    consumedAt: r.consumedAt,
    reply: r.reply,
    successorLive: r.successorLive === 1,
  };
}

export function toGrant(r: GrantRow): Grant {
  return {
    id: r.id,
    gateway: r.gateway,
    deviceId: r.device_id,
    userName: r.user_name,
    deviceName: r.device_name,
    family: r.family === 6 ? 6 : 4,
    address: r.address,
    port: r.port,
    service: r.service,
    openedAt: r.opened_at,
    expiresAt: r.expires_at,
    closedAt: r.closed_at,
    closeReason: r.close_reason,
    closeRequestedAt: r.close_requested_at,
  };
}

export function toUser(r: UserRow): UserInfo {
  return { id: r.id, name: r.name, enabled: r.enabled === 1, services: parseServices(r.services), createdAt: r.created_at, devices: r.devices };
}

export function kdfToJson(k: KdfParams): string {
  return JSON.stringify({ salt: k.salt.toString('base64'), N: k.N, r: k.r, p: k.p });
}

export function kdfFromJson(text: string): KdfParams {
  const o = JSON.parse(text) as { salt: string; N: number; r: number; p: number };
  return { salt: Buffer.from(o.salt, 'base64'), N: o.N, r: o.r, p: o.p };
}

export function toDevice(r: DeviceRow): DeviceInfo {
  return { id: r.id, userName: r.user_name, name: r.name, enabled: r.enabled === 1, createdAt: r.created_at, kdf: kdfFromJson(r.kdf), activeSequences: r.active };
}

/** Audit rows come back with the public shape already (column names match); only the order of keys is fixed. */
export function toAudit(r: AuditRow): AuditRow {
  return {
    id: r.id, at: r.at, gateway: r.gateway, event: r.event, user: r.user, device: r.device, address: r.address,
    service: r.service, port: r.port, result: r.result, reason: r.reason,
  };
}

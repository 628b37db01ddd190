/**
 * What a restore rolls back, and the resynchronisation that keeps devices working
 * (docs/protocol.md §9a). A backup holds each device's one-time sequences as they were; a device
 * that knocked after it holds a sequence the restored store never issued and is locked out (its
 * knocks get no answer), and one re-enrolled after it holds a key the restored store does not know.
 *
 * snapshotStores() reads both stores once; compareStores() lists, device by device, how the store
 * being replaced differs from the restored one. resync() carries over, into the restored store, the replaced store's newer state of the
 * devices both know: the device's key and KDF parameters, and its sequences in play (the consumed
 * one with its stored reply, the live one, the parent link between them); the restored store's own
 * sequences of that device are retired. Nothing else moves (users, enablement, services, grants,
 * audit): those differences are reported for the admin to decide. The one-time rule holds: every
 * sequence the replaced store consumed is carried consumed or not at all (retired keys are dead),
 * and the restored store's older sequences of the device are retired, so none is live again.
 * A carried key already in play for another device (a retired key drawn again) rolls that device
 * back: it is reported locked out.
 */
import type { Db } from './migrate.js';

export interface DeviceRef {
  readonly user: string;
  readonly device: string;
}

interface DeviceRow {
  readonly id: number;
  readonly user: string;
  readonly device: string;
  readonly key: Buffer;
  readonly kdf: string;
  readonly enabled: number;
  readonly userEnabled: number;
}

interface SequenceRow {
  readonly id: number;
  readonly device_id: number;
  readonly seq_key: Buffer;
  readonly parent_id: number | null;
  readonly state: 'live' | 'consumed';
  readonly issued_at: number;
  readonly consumed_at: number | null;
  readonly last_ts: number | null;
  readonly last_isns: Buffer | null;
  readonly last_address: string | null;
  readonly reply: Buffer | null;
}

interface Snapshot {
  readonly users: Map<string, { enabled: boolean; services: string }>;
  readonly devices: Map<string, DeviceRow>;
  readonly sequences: Map<number, SequenceRow[]>;
}

export interface Comparison {
  /** Devices whose state differs: they knocked or were re-enrolled after the backup (resync candidates). */
  readonly movedOn: DeviceRef[];
  unchanged: number;
  /** In the replaced store only: added after the backup, not in the restored one. */
  readonly usersAddedAfter: string[];
  readonly devicesAddedAfter: DeviceRef[];
  /** In the restored store only: deleted after the backup, back again. */
  readonly usersDeletedAfter: string[];
  readonly devicesDeletedAfter: DeviceRef[];
  /** Users (no device) or devices enabled or disabled differently; `enabled` is what the restored store says. */
  readonly enablement: Array<{ readonly user: string; readonly device?: string; readonly enabled: boolean }>;
  /** Users whose allowed services differ. */
  readonly servicesChanged: Array<{ readonly user: string; readonly restored: string[]; readonly replaced: string[] }>;
}

const idOf = (user: string, device: string): string => `${user}/${device}`;

/** Both stores as read once, for compareStores() and then resync() (retake it after a resync). */
export interface Snapshots {
  readonly restored: Snapshot;
  readonly replaced: Snapshot;
}

export function snapshotStores(restored: Db, replaced: Db): Snapshots {
  return { restored: snapshot(restored), replaced: snapshot(replaced) };
}

function snapshot(db: Db): Snapshot {
  const users = new Map<string, { enabled: boolean; services: string }>();
  for (const u of db.prepare('SELECT name, enabled, services FROM users').all() as Array<{ name: string; enabled: number; services: string }>) {
    users.set(u.name, { enabled: u.enabled === 1, services: u.services });
  }
  const devices = new Map<string, DeviceRow>();
  for (const d of db.prepare(`SELECT d.id, u.name AS user, d.name AS device, d.key, d.kdf, d.enabled, u.enabled AS userEnabled
    FROM devices d JOIN users u ON u.id = d.user_id`).all() as DeviceRow[]) {
    devices.set(idOf(d.user, d.device), d);
  }
  const sequences = new Map<number, SequenceRow[]>();
  for (const s of db.prepare(`SELECT id, device_id, seq_key, parent_id, state, issued_at, consumed_at, last_ts, last_isns, last_address, reply
    FROM sequences WHERE state IN ('live', 'consumed') ORDER BY id`).all() as SequenceRow[]) {
    const list = sequences.get(s.device_id) ?? [];
    list.push(s);
    sequences.set(s.device_id, list);
  }
  return { users, devices, sequences };
}

/** The device's key and sequences in play, as one comparable string. */
function fingerprint(s: Snapshot, d: DeviceRow): string {
  const seqs = (s.sequences.get(d.id) ?? []).map((x) => `${x.seq_key.toString('hex')}:${x.state}:${x.consumed_at ?? ''}`).sort();
  return `${d.key.toString('hex')}|${d.kdf}|${seqs.join(',')}`;
}

const services = (json: string): string[] => {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.map(String).sort() : [];
  } catch {
    return [];
  }
};

/** How the replaced store (`replaced`) differs from the restored one (`restored`). */
export function compareStores({ restored: r, replaced: c }: Snapshots): Comparison {
  const out: Comparison = {
    movedOn: [], unchanged: 0, usersAddedAfter: [], devicesAddedAfter: [], usersDeletedAfter: [], devicesDeletedAfter: [],
    enablement: [], servicesChanged: [],
  };
  for (const [name, u] of c.users) {
    const ru = r.users.get(name);
    if (!ru) {
      out.usersAddedAfter.push(name);
      continue;
    }
    if (ru.enabled !== u.enabled) out.enablement.push({ user: name, enabled: ru.enabled });
    const [a, b] = [services(ru.services), services(u.services)];
    if (a.join(',') !== b.join(',')) out.servicesChanged.push({ user: name, restored: a, replaced: b });
  }
  for (const name of r.users.keys()) if (!c.users.has(name)) out.usersDeletedAfter.push(name);
  for (const [id, d] of c.devices) {
    const rd = r.devices.get(id);
    const ref = { user: d.user, device: d.device };
    if (!rd) {
      out.devicesAddedAfter.push(ref);
      continue;
    }
    if (rd.enabled !== d.enabled) out.enablement.push({ ...ref, enabled: rd.enabled === 1 });
    if (fingerprint(r, rd) === fingerprint(c, d)) out.unchanged++;
    else out.movedOn.push(ref);
  }
  for (const [id, d] of r.devices) if (!c.devices.has(id) && c.users.has(d.user)) out.devicesDeletedAfter.push({ user: d.user, device: d.device });
  return out;
}

/**
 * Carry the replaced store's state of `devices` into the restored store (`restored`, whose
 * snapshot `s` holds), each in its own savepoint. Returns the devices carried and those that
 * could not be (a key collision).
 */
export function resync(restored: Db, s: Snapshots, devices: readonly DeviceRef[], now: number): { carried: DeviceRef[]; failed: DeviceRef[] } {
  const { restored: r, replaced: c } = s;
  const setKey = restored.prepare('UPDATE devices SET key = ?, kdf = ? WHERE id = ?');
  const retire = restored.prepare(`UPDATE sequences SET state = 'retired', retired_at = ?, reply = NULL WHERE device_id = ? AND state <> 'retired'`);
  const insert = restored.prepare(`INSERT INTO sequences (device_id, seq_key, parent_id, state, issued_at, consumed_at, last_ts, last_isns, last_address, reply)
    VALUES (@device_id, @seq_key, @parent_id, @state, @issued_at, @consumed_at, @last_ts, @last_isns, @last_address, @reply)`);
  const carried: DeviceRef[] = [];
  const failed: DeviceRef[] = [];
  const one = restored.transaction((rd: DeviceRow, cd: DeviceRow) => {
    setKey.run(cd.key, cd.kdf, rd.id);
    retire.run(now, rd.id);
    // Oldest first: a live sequence's parent (the consumed one) gets its new id before it.
    const newId = new Map<number, number>();
    for (const s of c.sequences.get(cd.id) ?? []) {
      const parent = s.parent_id === null ? null : newId.get(s.parent_id) ?? null;
      newId.set(s.id, Number(insert.run({ ...s, device_id: rd.id, parent_id: parent }).lastInsertRowid));
    }
  });
  restored.transaction(() => {
    for (const ref of devices) {
      const rd = r.devices.get(idOf(ref.user, ref.device));
      const cd = c.devices.get(idOf(ref.user, ref.device));
      if (!rd || !cd) continue;
      try {
        one(rd, cd); // a savepoint inside the outer transaction
        carried.push(ref);
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw e;
        failed.push(ref); // a carried key is in play for another device here
      }
    }
  }).immediate();
  return { carried, failed };
}

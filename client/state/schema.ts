/**
 * Client profile, JSON format 2, and its strict validator (shared/shape.ts). One profile per
 * enrollment (one device of one user on one fleet): the gateways and their addresses (IPv4 and/or
 * IPv6, in order), the KDF parameters (and the derived key unless kept off disk, with a 12-bit
 * password check), the current one-time sequence and the last second used on it, services, the
 * clock offset, the address the server saw per family (with the local address it was seen from),
 * the gateway address that answered last, and the last grant.
 * Format 1 profiles (one server address) are read and upgraded in memory; the next save writes
 * format 2. Unknown fields, wrong types or out-of-range values are PROFILE_CORRUPT; another `v` is
 * PROFILE_VERSION.
 */
import { TumblerError } from '../../shared/errors.js';
import { formatAddress, parseAddress, type IpFamily } from '../../shared/net/address.js';
import { CHECK_RE } from '../../shared/protocol/check.js';
import {
  DEVICE_NAME_RE, KEY_BYTES, MAX_GATEWAY_ADDRESSES, MAX_GATEWAYS, MAX_SERVICE_ID, SERVICE_NAME_RE, USER_NAME_RE,
} from '../../shared/protocol/constants.js';
import { SALT_BYTES, checkKdfParams } from '../../shared/protocol/kdf.js';
import { checkSequence } from '../../shared/protocol/sequence.js';
import {
  arrayOf, checkShape, int, isPlainObject, object, oneOf, recordOf, refine, ShapeError, text, type Shape,
} from '../../shared/shape.js';

export const PROFILE_VERSION = 2;
export const PROFILE_NAME_RE = /^[a-z0-9_][a-z0-9_.-]{0,63}$/;

/** The address the server saw this host at, in one family, and the local address the knock left from then. */
export interface ObservedAddress {
  address: string;
  /** Absent when unknown (a profile upgraded from format 1). */
  local?: string;
}

export interface Profile {
  v: 2;
  name: string;
  user: string;
  /** The device name from the bundle (absent in profiles upgraded from format 1). */
  device?: string;
  /** Gateways in the bundle's order; each its address literals (canonical text). */
  gateways: string[][];
  /** base64 device key; absent when the key is kept off disk (asked for on each use). */
  key?: string;
  /** 12-bit check of the device key (hex), to tell a mistyped password at once. */
  keyCheck?: string;
  kdf: { salt: string; N: number; r: number; p: number };
  sequence: { ports: [number, number, number]; tags: [number, number, number] };
  /** Highest second of a knock on `sequence` the server may have accepted (every new knock on it goes later, §9). */
  lastSec?: number;
  /** Likewise for probes (the server answers a probe only with a newer second than the last, §8). */
  lastProbeSec?: number;
  services: Record<string, number>;
  clockOffsetMs: number;
  observed?: { '4'?: ObservedAddress; '6'?: ObservedAddress };
  /** The gateway address that answered last (tried first). */
  lastAnswered?: string;
  lastGrant?: { port: number; service: string; expiresAt: number; server: string };
  /** Unix ms of the last save. */
  updatedAt: number;
}

const corrupt = (why: string): TumblerError => new TumblerError('PROFILE_CORRUPT', `profile is corrupt: ${why}`);

// ---- field shapes ----

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const base64Of = (bytes: number): Shape<string> =>
  refine(text({ re: B64_RE, maxChars: 128, what: 'base64' }), (s) => (Buffer.from(s, 'base64').length === bytes ? null : `must be ${bytes} bytes`));

/** An address literal in canonical text, of `family` when given. */
function address(family?: IpFamily): Shape<string> {
  return refine(text({ maxChars: 64, what: 'an IP address literal' }), (s) => {
    try {
      const a = parseAddress(s);
      if (family !== undefined && a.family !== family) return `must be an IPv${family} address`;
      return formatAddress(a.family, a.bytes) === s ? null : 'must be in canonical form';
    } catch {
      return 'must be an IP address literal';
    }
  });
}

const triple: Shape<[number, number, number]> = arrayOf(int(0, 65535), 3, 3) as Shape<unknown> as Shape<[number, number, number]>;
const sequence = refine(object({ ports: triple, tags: triple }), (s) => {
  try {
    checkSequence(s);
    return null;
  } catch {
    return 'must be 3 ascending distinct ports and 3 byte tags';
  }
});
const kdf = refine(object({ salt: base64Of(SALT_BYTES), N: int(1, 2 ** 31), r: int(1, 255), p: int(1, 255) }), (k) => {
  try {
    checkKdfParams({ ...k, salt: Buffer.from(k.salt, 'base64') });
    return null;
  } catch {
    return 'parameters out of bounds';
  }
});
const services = recordOf(SERVICE_NAME_RE, int(1, MAX_SERVICE_ID), 0, MAX_SERVICE_ID);
const ms = int(0, Number.MAX_SAFE_INTEGER);
const offset = int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
const observedShape = (f: IpFamily): Shape<ObservedAddress> => object({ address: address(f) }, { local: address(f) });
const gateways = refine(arrayOf(arrayOf(address(), 1, MAX_GATEWAY_ADDRESSES), 1, MAX_GATEWAYS),
  (gs) => (new Set(gs.flat()).size === gs.flat().length ? null : 'lists an address twice'));

const profileName = text({ re: PROFILE_NAME_RE, what: 'a profile name' });
const userName = text({ re: USER_NAME_RE, what: 'a user name' });
/** Required in both formats, with the same bounds (the last fields of each, in this order). */
const common = { kdf, sequence, services, clockOffsetMs: offset, updatedAt: ms };
/** lastGrant in both formats; format 2 adds the gateway address that granted. */
const grant = { port: int(1, 65535), service: text({ re: SERVICE_NAME_RE }), expiresAt: ms };
const key = base64Of(KEY_BYTES);

const profileShape = refine(object({
  v: oneOf([PROFILE_VERSION]),
  name: profileName,
  user: userName,
  gateways,
  ...common,
}, {
  device: text({ re: DEVICE_NAME_RE, what: 'a device name' }),
  key,
  keyCheck: text({ re: CHECK_RE, what: 'a 3-digit hex check' }),
  lastSec: ms,
  lastProbeSec: ms,
  observed: object({}, { 4: observedShape(4), 6: observedShape(6) }),
  lastAnswered: address(),
  lastGrant: object({ ...grant, server: address() }),
}), (p) => (p.lastAnswered !== undefined && !p.gateways.flat().includes(p.lastAnswered) ? 'lastAnswered is not a gateway address' : null));

// ---- format 1, read for the upgrade only ----

const profileV1Shape = object({
  v: oneOf([1]),
  name: profileName,
  server: object({ address: address(), family: oneOf([4, 6]) }),
  deviceId: ms,
  user: userName,
  ...common,
}, {
  key,
  observedAddress: address(),
  lastGrant: object(grant),
});

/** A format-1 profile as format 2: its server is the one gateway; its observed address is kept (local unknown). */
function upgradeV1(o: ReturnType<typeof profileV1Shape>): Profile {
  if (parseAddress(o.server.address).family !== o.server.family) throw new ShapeError('server.family', 'does not match the address');
  const observed = o.observedAddress === undefined ? undefined : { [parseAddress(o.observedAddress).family]: { address: o.observedAddress } };
  return {
    v: 2, name: o.name, user: o.user, gateways: [[o.server.address]],
    ...(o.key !== undefined && { key: o.key }),
    kdf: o.kdf, sequence: o.sequence, services: o.services, clockOffsetMs: o.clockOffsetMs,
    ...(observed && { observed }),
    ...(o.lastGrant && { lastGrant: { ...o.lastGrant, server: o.server.address } }),
    updatedAt: o.updatedAt,
  };
}

/** Validates a parsed profile document (format 2, or format 1 upgraded); `expectedName` must match its `name`. */
export function validateProfile(doc: unknown, expectedName?: string): Profile {
  if (!isPlainObject(doc)) throw corrupt('not an object');
  if (!Number.isSafeInteger(doc.v)) throw corrupt('missing version');
  if (doc.v !== PROFILE_VERSION && doc.v !== 1) throw new TumblerError('PROFILE_VERSION', `unsupported profile version ${String(doc.v)}`);
  let p: Profile;
  try {
    p = doc.v === 1 ? upgradeV1(checkShape(profileV1Shape, doc)) : checkShape(profileShape, doc) as Profile;
  } catch (e) {
    if (e instanceof ShapeError) throw corrupt(e.message);
    throw e;
  }
  if (expectedName !== undefined && p.name !== expectedName) throw corrupt('name does not match the file');
  return p;
}

/** Every gateway address of the profile, in order. */
export function gatewayAddresses(p: Pick<Profile, 'gateways'>): string[] {
  return p.gateways.flat();
}

/** What the profile knows about this host's address in `family`. */
export function observedIn(p: Pick<Profile, 'observed'>, family: IpFamily): ObservedAddress | undefined {
  return p.observed?.[family === 4 ? '4' : '6'];
}

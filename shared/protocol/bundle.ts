/**
 * Enrollment bundle, format 2 (docs/protocol.md §12): what the admin hands a device.
 * Text: "tumbler2." + base64url(JSON) + "." + hex(first 4 bytes of SHA-256(JSON)).
 * Copy-paste friendly: whitespace and line breaks are ignored on decode; a typo fails the checksum.
 * It lists the fleet's gateways (each 1..4 address literals, IPv4 and/or IPv6) and carries a 12-bit
 * check keyed by the device key over every other field: a mistyped password, or a bundle swapped
 * for one made without the password, fails it at enrollment. It carries no password and no key.
 * Format 1 ("tumbler1.") is refused with BUNDLE_VERSION (no gateways, no check).
 */
import { createHash } from 'node:crypto';
import { TumblerError } from '../errors.js';
import { formatAddress, parseAddress } from '../net/address.js';
import {
  arrayOf, checkShape, int, isPlainObject, map, object, oneOf, recordOf, refine, ShapeError, text, type Shape,
} from '../shape.js';
import { CHECK_RE, checksEqual, keyedCheck } from './check.js';
import {
  BUNDLE_PREFIX, BUNDLE_VERSION, DEVICE_NAME_RE, LABEL_BUNDLE_CHECK, MAX_BUNDLE_CHARS, MAX_GATEWAY_ADDRESSES, MAX_GATEWAYS,
  MAX_SERVICE_ID, SEQUENCE_KEY_BYTES, SERVICE_NAME_RE, USER_NAME_RE,
} from './constants.js';
import { KdfParams, SALT_BYTES, checkKdfParams } from './kdf.js';
import { Sequence, sequenceFromKey, sequenceKey } from './sequence.js';

export { BUNDLE_PREFIX };

/** Everything a bundle says, but its check. */
export interface BundleFields {
  /** Gateways in order; each its address literals (canonical text), IPv4 and/or IPv6. */
  readonly gateways: readonly (readonly string[])[];
  readonly user: string;
  readonly device: string;
  readonly kdf: KdfParams;
  readonly sequence: Sequence; // the first one-time sequence
  readonly services: Readonly<Record<string, number>>; // name → id the user may open
  readonly issuedAtMs: number;
}

export interface Bundle extends BundleFields {
  /** Keyed check over the fields (bundleCheck), 3 lowercase hex digits. */
  readonly check: string;
}

const bad = (why: string): TumblerError => new TumblerError('BUNDLE_INVALID', `enrollment bundle: ${why}`);

function checksum(json: string): string {
  return createHash('sha256').update(json, 'utf8').digest().subarray(0, 4).toString('hex');
}

// ---- the keyed check ----

const u8 = (n: number): Buffer => Buffer.from([n]);
const short = (s: string): Buffer => Buffer.concat([u8(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);

/** The check's input (after its label): a fixed binary encoding of every field (§12 table). */
export function bundleCheckInput(b: BundleFields): Buffer {
  const parts: Buffer[] = [u8(b.gateways.length)];
  for (const g of b.gateways) {
    parts.push(u8(g.length));
    for (const a of g) {
      const bytes = parseAddress(a);
      parts.push(u8(bytes.family), bytes.bytes);
    }
  }
  const kdf = Buffer.alloc(6);
  kdf.writeUInt32BE(b.kdf.N, 0);
  kdf[4] = b.kdf.r;
  kdf[5] = b.kdf.p;
  const names = Object.keys(b.services).sort();
  const issued = Buffer.alloc(8);
  issued.writeBigUInt64BE(BigInt(b.issuedAtMs));
  parts.push(short(b.user), short(b.device), b.kdf.salt, kdf, sequenceKey(b.sequence), u8(names.length));
  for (const n of names) parts.push(short(n), u8(b.services[n]!));
  parts.push(issued);
  return Buffer.concat(parts);
}

/** The bundle's keyed check for `deviceKey`. */
export function bundleCheck(deviceKey: Buffer, b: BundleFields): string {
  return keyedCheck(deviceKey, LABEL_BUNDLE_CHECK, bundleCheckInput(b));
}

/** True when `deviceKey` (from the typed password) matches the bundle's check. */
export function bundleCheckMatches(deviceKey: Buffer, b: Bundle): boolean {
  return checksEqual(bundleCheck(deviceKey, b), b.check);
}

// ---- shape ----

const canonicalAddress = map(text({ maxChars: 64, what: 'an IP address literal' }), (t) => {
  const a = parseAddress(t);
  return formatAddress(a.family, a.bytes);
}, 'must be an IP address literal');

const gateways: Shape<string[][]> = refine(
  arrayOf(arrayOf(canonicalAddress, 1, MAX_GATEWAY_ADDRESSES), 1, MAX_GATEWAYS),
  (gs) => new Set(gs.flat()).size === gs.flat().length ? null : 'lists an address twice',
);

const kdfShape = map(object({
  salt: text({ re: /^[A-Za-z0-9_-]+$/, maxChars: 64, what: 'base64url' }), N: int(1, 2 ** 31), r: int(1, 255), p: int(1, 255),
}), (k): KdfParams => {
  const kdf = { salt: Buffer.from(k.salt, 'base64url'), N: k.N, r: k.r, p: k.p };
  if (kdf.salt.length !== SALT_BYTES) throw new Error('salt');
  checkKdfParams(kdf);
  return kdf;
}, `must hold a ${SALT_BYTES}-byte salt and scrypt parameters within the bounds of docs/protocol.md §11`);

const sequenceShape = map(text({ re: new RegExp(`^[0-9a-f]{${SEQUENCE_KEY_BYTES * 2}}$`), what: 'a sequence key' }),
  (hex) => sequenceFromKey(Buffer.from(hex, 'hex')), 'must be a sequence key (ascending distinct ports)');

const bundleShape = object({
  v: oneOf([BUNDLE_VERSION]),
  gateways,
  user: text({ re: USER_NAME_RE, what: 'a user name' }),
  device: text({ re: DEVICE_NAME_RE, what: 'a device name' }),
  kdf: kdfShape,
  seq: sequenceShape,
  services: recordOf(SERVICE_NAME_RE, int(1, MAX_SERVICE_ID), 1, MAX_SERVICE_ID),
  issued: int(0, Number.MAX_SAFE_INTEGER),
  check: text({ re: CHECK_RE, what: 'a 3-digit hex check' }),
});

function toJsonObject(b: Bundle): Record<string, unknown> {
  return {
    v: BUNDLE_VERSION,
    gateways: b.gateways.map((g) => [...g]),
    user: b.user,
    device: b.device,
    kdf: { salt: b.kdf.salt.toString('base64url'), N: b.kdf.N, r: b.kdf.r, p: b.kdf.p },
    seq: sequenceKey(b.sequence).toString('hex'),
    services: { ...b.services },
    issued: b.issuedAtMs,
    check: b.check,
  };
}

function fromJsonObject(o: unknown): Bundle {
  let d: ReturnType<typeof bundleShape>;
  try {
    d = checkShape(bundleShape, o);
  } catch (e) {
    if (e instanceof ShapeError) throw bad(e.message);
    throw e;
  }
  return {
    gateways: d.gateways, user: d.user, device: d.device, kdf: d.kdf, sequence: d.seq, services: d.services,
    issuedAtMs: d.issued, check: d.check,
  };
}

// ---- text form ----

/** The bundle as text; every field is validated (and addresses made canonical) first. */
export function encodeBundle(b: Bundle): string {
  const valid = fromJsonObject(JSON.parse(JSON.stringify(toJsonObject(b))));
  const json = JSON.stringify(toJsonObject(valid));
  const text = `${BUNDLE_PREFIX}.${Buffer.from(json, 'utf8').toString('base64url')}.${checksum(json)}`;
  if (text.length > MAX_BUNDLE_CHARS) throw bad('too long');
  return text;
}

export function decodeBundle(input: string): Bundle {
  if (typeof input !== 'string' || input.length > MAX_BUNDLE_CHARS) throw bad('too long');
  const compact = input.replace(/\s+/g, '');
  const parts = compact.split('.');
  if (parts.length !== 3 || !/^tumbler\d+$/.test(parts[0]!)) throw bad('not a Tumbler bundle');
  if (parts[0] === 'tumbler1') {
    throw new TumblerError('BUNDLE_VERSION', 'this bundle comes from an older tumblerd (format 1: one address, no key check); ask your admin for a new one');
  }
  if (parts[0] !== BUNDLE_PREFIX) throw new TumblerError('BUNDLE_VERSION', `unsupported bundle format "${parts[0]}"; this client reads ${BUNDLE_PREFIX}`);
  if (!/^[A-Za-z0-9_-]+$/.test(parts[1]!) || !/^[0-9a-f]{8}$/.test(parts[2]!)) throw bad('malformed');
  const json = Buffer.from(parts[1]!, 'base64url').toString('utf8');
  if (checksum(json) !== parts[2]) throw new TumblerError('BUNDLE_CHECKSUM', 'enrollment bundle checksum mismatch (copy error?)');
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    throw bad('not JSON');
  }
  if (isPlainObject(o) && o.v !== BUNDLE_VERSION) throw new TumblerError('BUNDLE_VERSION', 'unsupported bundle version');
  return fromJsonObject(o);
}

/**
 * Knock codec, protocol v1 (docs/protocol.md, "Knock"). Pure: no I/O, clock passed in.
 *
 * 144 bits = 3 destination ports + 3 ISNs. Ports and the ISNs' high bytes are the server-issued
 * one-time sequence (the lookup key). The ISNs' low 24 bits carry a 72-bit synthetic-IV sealed
 * declaration: MAC46 || (declaration26 XOR AES(encKey, MAC46 || seqKey)).
 * Two kinds share the layout: a knock (flags 0) binds the source address the server sees and asks
 * for a service; a probe (flags 1, "where am I") binds no address and asks for nothing: the server
 * answers it with the address it saw and its clock (§8).
 */
import { TumblerError } from '../errors.js';
import { aesEncryptBlock, constantTimeEqual, hmacSha256, subkey } from '../crypto/index.js';
import { isAddressBytes, type AddressBytes } from '../net/address.js';
import {
  DECL_BITS, DECL_FLAGS_SHIFT, DECL_SERVICE_SHIFT, DECL_VERSION_SHIFT, FLAG_KNOCK, FLAG_PROBE, KNOCK_ISNS_BYTES, KNOCK_PACKETS,
  LABEL_KNOCK_ENC, LABEL_KNOCK_MAC, MAC_BITS, MAX_SERVICE_ID, PROBE_MAC_FAMILY, PROBE_WINDOW_SEC, PROTOCOL_VERSION,
  SEALED_BITS_PER_ISN, TIME_MODULUS,
} from './constants.js';
import { Sequence, checkSequence, sequenceKey } from './sequence.js';

export type { AddressBytes };

export interface Declaration {
  readonly version: number;
  readonly flags: number; // FLAG_KNOCK or FLAG_PROBE
  readonly serviceId: number; // 1..63 for a knock, 0 for a probe
  readonly timestamp: number; // full Unix seconds (reconstructed on decode)
}

export interface KnockPacket {
  readonly dstPort: number;
  readonly isn: number; // unsigned 32-bit
}

export type Knock = readonly [KnockPacket, KnockPacket, KnockPacket];

export interface KnockKeys {
  readonly mac: Buffer;
  readonly enc: Buffer;
}

/** Derive the knock subkeys once per device key (the verifier may cache them). */
export function knockKeys(deviceKey: Buffer): KnockKeys {
  return { mac: subkey(deviceKey, LABEL_KNOCK_MAC), enc: subkey(deviceKey, LABEL_KNOCK_ENC) };
}

/** True for a probe's declaration ("where am I"): it grants nothing and consumes nothing. */
export function isProbe(d: Declaration): boolean {
  return d.flags === FLAG_PROBE;
}

const MAC_BYTES = Math.ceil(MAC_BITS / 8); // 6 bytes holding 46 bits, low 2 bits zero
const MAC_LAST_BYTE_MASK = 0xff << (MAC_BYTES * 8 - MAC_BITS) & 0xff; // 0xfc
const DECL_MASK = 2 ** DECL_BITS - 1;
const FIELD2 = 0x3;
const FIELD6 = 0x3f;
const LABEL_MAC = Buffer.from(LABEL_KNOCK_MAC, 'utf8');
/** What a probe's MAC covers in place of family and address: one zero byte. */
const NO_ADDRESS = Buffer.from([PROBE_MAC_FAMILY]);

function packDeclaration(d: Declaration): number {
  const time16 = d.timestamp % TIME_MODULUS;
  return (((d.version & FIELD2) << DECL_VERSION_SHIFT) | ((d.flags & FIELD2) << DECL_FLAGS_SHIFT) |
    ((d.serviceId & FIELD6) << DECL_SERVICE_SHIFT) | time16) >>> 0;
}

function checkAddress(a: AddressBytes): void {
  if (!isAddressBytes(a)) {
    throw new TumblerError('KNOCK_BAD_ADDRESS', 'bound address must be 4 (IPv4) or 16 (IPv6) bytes');
  }
}

/**
 * MAC46 over label, sequence, bound address (family byte + bytes; a probe: one zero byte) and the
 * plaintext declaration; low 2 bits zeroed.
 */
function macOf(keys: KnockKeys, seqKey: Buffer, addr: AddressBytes | null, decl26: number): Buffer {
  const d = Buffer.alloc(4);
  d.writeUInt32BE(decl26, 0);
  const bound = addr === null ? [NO_ADDRESS] : [Buffer.from([addr.family]), addr.bytes];
  const full = hmacSha256(keys.mac, LABEL_MAC, seqKey, ...bound, d);
  const mac = Buffer.from(full.subarray(0, MAC_BYTES));
  mac[MAC_BYTES - 1]! &= MAC_LAST_BYTE_MASK;
  return mac;
}

/** 26 keystream bits from AES(encKey, MAC46 || seqKey || 0x01): the MAC is the synthetic IV. */
function keystream(keys: KnockKeys, mac: Buffer, seqKey: Buffer): number {
  const block = Buffer.alloc(16);
  mac.copy(block, 0);
  seqKey.copy(block, MAC_BYTES);
  block[15] = 0x01;
  return aesEncryptBlock(keys.enc, block).readUInt32BE(0) >>> (32 - DECL_BITS);
}

/** 72 sealed bits as 9 bytes: MAC46 || ciphertext26. */
function sealedBytes(mac: Buffer, cipher26: number): Buffer {
  const out = Buffer.alloc(9);
  mac.copy(out, 0); // bits 0..45 (the low 2 bits of byte 5 are zero)
  // ciphertext occupies bits 46..71: 2 bits in byte 5, then 3 bytes.
  out[5]! |= (cipher26 >>> 24) & 0x3;
  out[6] = (cipher26 >>> 16) & 0xff;
  out[7] = (cipher26 >>> 8) & 0xff;
  out[8] = cipher26 & 0xff;
  return out;
}

export interface EncodeKnockInput {
  readonly keys: KnockKeys;
  readonly sequence: Sequence;
  readonly serviceId: number;
  readonly nowSec: number; // client clock already corrected by the last known server offset
  readonly boundAddress: AddressBytes; // the address the server will see (public address behind NAT)
}

export interface EncodeProbeInput {
  readonly keys: KnockKeys;
  readonly sequence: Sequence;
  readonly nowSec: number;
}

function checkTime(nowSec: number): void {
  if (!Number.isInteger(nowSec) || nowSec < 0) throw new TumblerError('KNOCK_BAD_TIME', 'time must be whole non-negative seconds');
}

/** Seal a declaration into the three packets, in sequence order (ascending destination port). */
function seal(keys: KnockKeys, sequence: Sequence, decl: number, bound: AddressBytes | null): Knock {
  const seqKey = sequenceKey(sequence);
  const mac = macOf(keys, seqKey, bound, decl);
  const cipher = (decl ^ keystream(keys, mac, seqKey)) & DECL_MASK;
  const sealed = sealedBytes(mac, cipher >>> 0);
  const packets: KnockPacket[] = [];
  for (let i = 0; i < KNOCK_PACKETS; i++) {
    const low24 = sealed.readUIntBE(i * 3, 3);
    packets.push({ dstPort: sequence.ports[i]!, isn: ((sequence.tags[i]! << SEALED_BITS_PER_ISN) | low24) >>> 0 });
  }
  return packets as unknown as Knock;
}

/** Build the three knock packets in sequence order (ascending destination port). */
export function encodeKnock(input: EncodeKnockInput): Knock {
  checkSequence(input.sequence);
  checkAddress(input.boundAddress);
  if (!Number.isInteger(input.serviceId) || input.serviceId < 1 || input.serviceId > MAX_SERVICE_ID) {
    throw new TumblerError('KNOCK_BAD_SERVICE', `service id must be 1..${MAX_SERVICE_ID}`);
  }
  checkTime(input.nowSec);
  const decl = packDeclaration({ version: PROTOCOL_VERSION, flags: FLAG_KNOCK, serviceId: input.serviceId, timestamp: input.nowSec });
  return seal(input.keys, input.sequence, decl, input.boundAddress);
}

/** Build a probe ("where am I"): the same three packets, flags 1, service 0, no address under the MAC. */
export function encodeProbe(input: EncodeProbeInput): Knock {
  checkSequence(input.sequence);
  checkTime(input.nowSec);
  const decl = packDeclaration({ version: PROTOCOL_VERSION, flags: FLAG_PROBE, serviceId: 0, timestamp: input.nowSec });
  return seal(input.keys, input.sequence, decl, null);
}

/** Full timestamp nearest `nowSec` whose low 16 bits are `time16`. */
export function reconstructTimestamp(time16: number, nowSec: number): number {
  const base = nowSec - (nowSec % TIME_MODULUS);
  let best = base + time16;
  for (const c of [best - TIME_MODULUS, best + TIME_MODULUS]) {
    if (Math.abs(c - nowSec) < Math.abs(best - nowSec)) best = c;
  }
  return best;
}

export interface VerifyKnockInput {
  readonly keys: KnockKeys;
  readonly sequence: Sequence; // the candidate found by the lookup
  readonly packets: Knock; // received, sorted by destination port
  readonly observed: AddressBytes; // the source address the packets came from
  readonly nowSec: number;
  readonly windowSec: number; // the knock window; a probe gets at least PROBE_WINDOW_SEC
}

/**
 * Verify in cost order: shape (ports and tags equal the candidate) → keystream + MAC (constant
 * time; a knock's over the observed address, a probe's over none) → version/flags/service →
 * timestamp window. Throws TumblerError with a KNOCK_* reason code. Callers tell a probe from a
 * knock by isProbe() on the result.
 */
export function verifyKnock(input: VerifyKnockInput): Declaration {
  const { keys, sequence, packets } = input;
  checkAddress(input.observed);
  // 1. Shape: exactly the candidate's ports and tags, in order.
  if (packets.length !== KNOCK_PACKETS) throw new TumblerError('KNOCK_SHAPE', 'a knock is three packets');
  for (let i = 0; i < KNOCK_PACKETS; i++) {
    const p = packets[i]!;
    if (p.dstPort !== sequence.ports[i] || (p.isn >>> SEALED_BITS_PER_ISN) !== sequence.tags[i]) {
      throw new TumblerError('KNOCK_SHAPE', 'packets do not match the sequence');
    }
  }
  // 2. Unseal: split MAC46 and ciphertext26, recompute the keystream from the MAC (synthetic IV).
  const seqKey = sequenceKey(sequence);
  const sealed = Buffer.alloc(9);
  for (let i = 0; i < KNOCK_PACKETS; i++) sealed.writeUIntBE(packets[i]!.isn & 0xffffff, i * 3, 3);
  const mac = Buffer.from(sealed.subarray(0, 6));
  mac[5]! &= MAC_LAST_BYTE_MASK;
  const cipher = (((sealed[5]! & 0x3) << 24) | (sealed[6]! << 16) | (sealed[7]! << 8) | sealed[8]!) >>> 0;
  const decl = ((cipher ^ keystream(keys, mac, seqKey)) & DECL_MASK) >>> 0;
  // 3. MAC: a knock's over the address we saw (a copy sent from elsewhere fails here); a probe's
  //    over no address. The flag that picks the form is itself under the MAC in both forms.
  const flags = (decl >>> DECL_FLAGS_SHIFT) & FIELD2;
  const probe = flags === FLAG_PROBE;
  if (!constantTimeEqual(macOf(keys, seqKey, probe ? null : input.observed, decl), mac)) {
    throw new TumblerError('KNOCK_MAC', 'authentication failed');
  }
  // 4. Declaration fields (authentic now).
  const version = decl >>> DECL_VERSION_SHIFT;
  const serviceId = (decl >>> DECL_SERVICE_SHIFT) & FIELD6;
  if (version !== PROTOCOL_VERSION) throw new TumblerError('KNOCK_VERSION', 'unsupported protocol version');
  if (probe ? serviceId !== 0 : flags !== FLAG_KNOCK || serviceId === 0) throw new TumblerError('KNOCK_DECLARATION', 'invalid declaration');
  // 5. Freshness.
  const windowSec = probe ? Math.max(input.windowSec, PROBE_WINDOW_SEC) : input.windowSec;
  const timestamp = reconstructTimestamp(decl & (TIME_MODULUS - 1), input.nowSec);
  if (Math.abs(timestamp - input.nowSec) > windowSec) throw new TumblerError('KNOCK_STALE', 'timestamp outside the window');
  return { version, flags, serviceId, timestamp };
}

/** The 12 ISN bytes of a knock in sequence order (retransmit identity, reply binding). */
export function knockIsns(packets: Knock): Buffer {
  const b = Buffer.alloc(KNOCK_ISNS_BYTES);
  for (let i = 0; i < KNOCK_PACKETS; i++) b.writeUInt32BE(packets[i]!.isn, i * 4);
  return b;
}


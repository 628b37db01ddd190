/**
 * An independent implementation of the v1 knock sealing and reply sealing with node:crypto,
 * written straight from docs/protocol.md, so the vectors are not only checked against the code
 * that produced them.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

const sub = (key: Buffer, label: string): Buffer => createHmac('sha256', key).update(label).digest().subarray(0, 16);

export function independentKnockIsns(o: {
  key: Buffer; ports: number[]; tags: number[]; serviceId: number; time: number; family: 4 | 6; addr: Buffer;
}): number[] {
  const macKey = sub(o.key, 'tumbler v1 knock mac');
  const encKey = sub(o.key, 'tumbler v1 knock enc');
  const seqKey = Buffer.alloc(9);
  o.ports.forEach((p, i) => seqKey.writeUInt16BE(p, i * 2));
  o.tags.forEach((t, i) => (seqKey[6 + i] = t));
  // declaration: version 1 (2 bits) | flags 0 (2) | service (6) | time mod 2^16 (16)
  const decl = (1 << 24) | (o.serviceId << 16) | (o.time % 65536);
  const d = Buffer.alloc(4); d.writeUInt32BE(decl);
  const mac = createHmac('sha256', macKey).update('tumbler v1 knock mac').update(seqKey).update(Buffer.from([o.family])).update(o.addr).update(d).digest().subarray(0, 6);
  mac[5]! &= 0xfc;
  const block = Buffer.concat([mac, seqKey, Buffer.from([1])]);
  const ecb = createCipheriv('aes-128-ecb', encKey, null); ecb.setAutoPadding(false);
  const ks = Buffer.concat([ecb.update(block), ecb.final()]).readUInt32BE(0) >>> 6;
  const c = (decl ^ ks) & 0x3ffffff;
  // 72 bits: mac46 || c26 → as a bigint
  const macBig = BigInt('0x' + mac.toString('hex')) >> 2n;
  const sealed = (macBig << 26n) | BigInt(c);
  return [0, 1, 2].map((i) => Number((BigInt(o.tags[i]!) << 24n) | ((sealed >> BigInt(48 - 24 * i)) & 0xffffffn)));
}

export function independentOpenReply(key: Buffer, payload: Buffer, seqKey: Buffer, isns: Buffer): Buffer {
  const k = sub(key, 'tumbler v1 reply');
  const d = createDecipheriv('aes-128-gcm', k, payload.subarray(0, 12));
  d.setAAD(Buffer.concat([Buffer.from('tumbler v1 reply'), seqKey, isns]));
  d.setAuthTag(payload.subarray(payload.length - 16));
  return Buffer.concat([d.update(payload.subarray(12, payload.length - 16)), d.final()]);
}

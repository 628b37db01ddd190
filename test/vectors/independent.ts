/**
 * An independent implementation of the v1 knock and probe sealing, the reply opening and the
 * format-2 bundle check with node:crypto, written straight from docs/protocol.md, so the vectors
 * are not only checked against the code that produced them.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

const sub = (key: Buffer, label: string): Buffer => createHmac('sha256', key).update(label).digest().subarray(0, 16);

/** §6: knock (flags 0, bound address) or probe (flags 1, service 0, MAC over one zero byte instead of family and address). */
export function independentKnockIsns(o: {
  key: Buffer; ports: number[]; tags: number[]; serviceId: number; time: number; family: 4 | 6; addr: Buffer; probe?: boolean;
}): number[] {
  const macKey = sub(o.key, 'tumbler v1 knock mac');
  const encKey = sub(o.key, 'tumbler v1 knock enc');
  const seqKey = Buffer.alloc(9);
  o.ports.forEach((p, i) => seqKey.writeUInt16BE(p, i * 2));
  o.tags.forEach((t, i) => (seqKey[6 + i] = t));
  // declaration: version 1 (2 bits) | flags (2) | service (6) | time mod 2^16 (16)
  const flags = o.probe ? 1 : 0;
  const service = o.probe ? 0 : o.serviceId;
  const decl = (1 << 24) | (flags << 22) | (service << 16) | (o.time % 65536);
  const d = Buffer.alloc(4); d.writeUInt32BE(decl);
  const bound = o.probe ? Buffer.from([0]) : Buffer.concat([Buffer.from([o.family]), o.addr]);
  const mac = createHmac('sha256', macKey).update('tumbler v1 knock mac').update(seqKey).update(bound).update(d).digest().subarray(0, 6);
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

/** §10: the 40-byte plaintext of a reply (grant or address report). */
export function independentOpenReply(key: Buffer, payload: Buffer, seqKey: Buffer, isns: Buffer): Buffer {
  const k = sub(key, 'tumbler v1 reply');
  const d = createDecipheriv('aes-128-gcm', k, payload.subarray(0, 12));
  d.setAAD(Buffer.concat([Buffer.from('tumbler v1 reply'), seqKey, isns]));
  d.setAuthTag(payload.subarray(payload.length - 16));
  return Buffer.concat([d.update(payload.subarray(12, payload.length - 16)), d.final()]);
}

/** §12: the first 12 bits of HMAC-SHA256(device key, label || input), as 3 hex digits. */
export function independentCheck(key: Buffer, label: string, input: Buffer = Buffer.alloc(0)): string {
  return createHmac('sha256', key).update(label).update(input).digest('hex').slice(0, 3);
}

/** §12's check input table, from JSON-like fields (addresses as text, written out by hand). */
export function independentBundleCheckInput(f: {
  gateways: string[][]; user: string; device: string; salt: Buffer; N: number; r: number; p: number; seqKey: Buffer;
  services: Record<string, number>; issued: number;
}): Buffer {
  const addr = (a: string): Buffer => {
    if (!a.includes(':')) return Buffer.from([4, ...a.split('.').map(Number)]);
    const [head, tail] = a.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
    const b = Buffer.alloc(17);
    b[0] = 6;
    groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), 1 + 2 * i));
    return b;
  };
  const str = (s: string): Buffer => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
  const n = Buffer.alloc(4); n.writeUInt32BE(f.N);
  const issued = Buffer.alloc(8); issued.writeBigUInt64BE(BigInt(f.issued));
  const names = Object.keys(f.services).sort();
  return Buffer.concat([
    Buffer.from([f.gateways.length]), ...f.gateways.flatMap((g) => [Buffer.from([g.length]), ...g.map(addr)]),
    str(f.user), str(f.device), f.salt, n, Buffer.from([f.r, f.p]), f.seqKey,
    Buffer.from([names.length]), ...names.flatMap((s) => [str(s), Buffer.from([f.services[s]!])]), issued,
  ]);
}

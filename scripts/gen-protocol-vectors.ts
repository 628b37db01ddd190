/**
 * Prints the protocol v1 test vectors (test/vectors/protocol.json) from fixed inputs.
 * Run only when the wire format changes on purpose: node --import tsx scripts/gen-protocol-vectors.ts
 */
import { encodeKnock, knockKeys, knockIsns } from '../shared/protocol/knock.js';
import { replyKey, sealReply } from '../shared/protocol/reply.js';
import { sequenceKey } from '../shared/protocol/sequence.js';

const key = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const cases = [
  { name: 'ipv4', family: 4 as const, addr: 'c6336402', ports: [40001, 40777, 41999], tags: [0x11, 0x22, 0x33], serviceId: 1, time: 1_800_000_000 },
  { name: 'ipv6', family: 6 as const, addr: '20010db8000000000000000000000002', ports: [40010, 40011, 43000], tags: [0xfe, 0x00, 0x7f], serviceId: 63, time: 1_800_065_535 },
];
const out = cases.map((c) => {
  const sequence = { ports: c.ports as [number, number, number], tags: c.tags as [number, number, number] };
  const knock = encodeKnock({ keys: knockKeys(key), sequence, serviceId: c.serviceId, nowSec: c.time, boundAddress: { family: c.family, bytes: Buffer.from(c.addr, 'hex') } });
  const next = { ports: [40100, 40200, 40300] as [number, number, number], tags: [1, 2, 3] as [number, number, number] };
  const nonce = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaab', 'hex');
  const reply = sealReply(replyKey(key), { grantedPort: 51234, expiresAt: c.time + 30, next, serverTimeMs: c.time * 1000 + 250, observed: { family: c.family, bytes: Buffer.from(c.addr, 'hex') } },
    { sequence, isns: knockIsns(knock) }, () => nonce);
  return {
    name: c.name, key: key.toString('hex'), family: c.family, address: c.addr, ports: c.ports, tags: c.tags, serviceId: c.serviceId, time: c.time,
    sequenceKey: sequenceKey(sequence).toString('hex'),
    isns: knock.map((p) => p.isn.toString(16).padStart(8, '0')),
    reply: { grantedPort: 51234, expiresAt: c.time + 30, next: sequenceKey(next).toString('hex'), serverTimeMs: c.time * 1000 + 250, nonce: nonce.toString('hex'), payload: reply.toString('hex') },
  };
});
console.log(JSON.stringify(out, null, 2));

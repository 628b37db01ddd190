/** Byte-exact protocol v1 vectors, checked in both directions and against an independent node:crypto implementation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encodeKnock, knockIsns, knockKeys, verifyKnock, type Knock } from '../../shared/protocol/knock.js';
import { openReply, replyKey, sealReply } from '../../shared/protocol/reply.js';
import { sequenceFromKey, sequenceKey } from '../../shared/protocol/sequence.js';
import { independentKnockIsns, independentOpenReply } from './independent.js';

interface Vector {
  name: string; key: string; family: 4 | 6; address: string; ports: number[]; tags: number[]; serviceId: number; time: number;
  sequenceKey: string; isns: string[];
  reply: { grantedPort: number; expiresAt: number; next: string; serverTimeMs: number; nonce: string; payload: string };
}
const vectors = JSON.parse(readFileSync(new URL('./protocol.json', import.meta.url), 'utf8')) as Vector[];

for (const v of vectors) {
  const key = Buffer.from(v.key, 'hex');
  const sequence = { ports: v.ports as [number, number, number], tags: v.tags as [number, number, number] };
  const addr = { family: v.family, bytes: Buffer.from(v.address, 'hex') };

  test(`vector ${v.name}: encode gives the exact ISNs and sequence key`, () => {
    assert.equal(sequenceKey(sequence).toString('hex'), v.sequenceKey);
    const knock = encodeKnock({ keys: knockKeys(key), sequence, serviceId: v.serviceId, nowSec: v.time, boundAddress: addr });
    assert.deepEqual(knock.map((p) => p.isn.toString(16).padStart(8, '0')), v.isns);
    assert.deepEqual(knock.map((p) => p.dstPort), v.ports);
  });

  test(`vector ${v.name}: an independent node:crypto implementation agrees`, () => {
    const isns = independentKnockIsns({ key, ports: v.ports, tags: v.tags, serviceId: v.serviceId, time: v.time, family: v.family, addr: addr.bytes });
    assert.deepEqual(isns.map((n) => n.toString(16).padStart(8, '0')), v.isns);
  });

  test(`vector ${v.name}: decode of the vector packets gives the declaration`, () => {
    const packets = v.ports.map((p, i) => ({ dstPort: p, isn: parseInt(v.isns[i]!, 16) })) as unknown as Knock;
    const d = verifyKnock({ keys: knockKeys(key), sequence: sequenceFromKey(Buffer.from(v.sequenceKey, 'hex')), packets, observed: addr, nowSec: v.time + 5, windowSec: 30 });
    assert.deepEqual(d, { version: 1, flags: 0, serviceId: v.serviceId, timestamp: v.time });
  });

  test(`vector ${v.name}: reply seals to the exact bytes and opens both ways`, () => {
    const packets = v.ports.map((p, i) => ({ dstPort: p, isn: parseInt(v.isns[i]!, 16) })) as unknown as Knock;
    const binding = { sequence, isns: knockIsns(packets) };
    const next = sequenceFromKey(Buffer.from(v.reply.next, 'hex'));
    const sealed = sealReply(replyKey(key), { grantedPort: v.reply.grantedPort, expiresAt: v.reply.expiresAt, next, serverTimeMs: v.reply.serverTimeMs, observed: addr }, binding, () => Buffer.from(v.reply.nonce, 'hex'));
    assert.equal(sealed.toString('hex'), v.reply.payload);
    const r = openReply(replyKey(key), Buffer.from(v.reply.payload, 'hex'), binding);
    assert.equal(r.grantedPort, v.reply.grantedPort);
    assert.equal(r.expiresAt, v.reply.expiresAt);
    assert.equal(sequenceKey(r.next).toString('hex'), v.reply.next);
    assert.equal(r.serverTimeMs, v.reply.serverTimeMs);
    assert.deepEqual(r.observed, addr);
    const plain = independentOpenReply(key, Buffer.from(v.reply.payload, 'hex'), Buffer.from(v.sequenceKey, 'hex'), knockIsns(packets));
    assert.equal(plain.length, 40);
    assert.equal(plain.readUInt16BE(2), v.reply.grantedPort);
    assert.equal(plain.subarray(8, 17).toString('hex'), v.reply.next);
  });
}

/** Byte-exact protocol v1 vectors (knock, grant reply, probe, address report), both directions and against an independent node:crypto implementation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encodeKnock, encodeProbe, isProbe, knockIsns, knockKeys, verifyKnock, type Knock } from '../../shared/protocol/knock.js';
import { openAnswer, openReply, replyKey, sealAddressReport, sealReply } from '../../shared/protocol/reply.js';
import { sequenceFromKey, sequenceKey } from '../../shared/protocol/sequence.js';
import { independentKnockIsns, independentOpenReply } from './independent.js';
import { codeOf } from '../helpers/error-code.js';

interface Vector {
  name: string; key: string; family: 4 | 6; address: string; ports: number[]; tags: number[]; serviceId: number; time: number;
  sequenceKey: string; isns: string[];
  reply: { grantedPort: number; expiresAt: number; next: string; serverTimeMs: number; nonce: string; payload: string };
  probe: { time: number; isns: string[]; report: { windowSec: number; serverTimeMs: number; nonce: string; payload: string } };
}
const vectors = JSON.parse(readFileSync(new URL('./protocol.json', import.meta.url), 'utf8')) as Vector[];
const code = codeOf;
const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const packetsOf = (ports: number[], isns: string[]): Knock => ports.map((p, i) => ({ dstPort: p, isn: parseInt(isns[i]!, 16) })) as unknown as Knock;

for (const v of vectors) {
  const key = Buffer.from(v.key, 'hex');
  const sequence = { ports: v.ports as [number, number, number], tags: v.tags as [number, number, number] };
  const addr = { family: v.family, bytes: Buffer.from(v.address, 'hex') };

  test(`vector ${v.name}: encode gives the exact ISNs and sequence key`, () => {
    assert.equal(sequenceKey(sequence).toString('hex'), v.sequenceKey);
    const knock = encodeKnock({ keys: knockKeys(key), sequence, serviceId: v.serviceId, nowSec: v.time, boundAddress: addr });
    assert.deepEqual(knock.map((p) => hex8(p.isn)), v.isns);
    assert.deepEqual(knock.map((p) => p.dstPort), v.ports);
  });

  test(`vector ${v.name}: an independent node:crypto implementation agrees`, () => {
    const isns = independentKnockIsns({ key, ports: v.ports, tags: v.tags, serviceId: v.serviceId, time: v.time, family: v.family, addr: addr.bytes });
    assert.deepEqual(isns.map(hex8), v.isns);
  });

  test(`vector ${v.name}: decode of the vector packets gives the declaration`, () => {
    const d = verifyKnock({ keys: knockKeys(key), sequence: sequenceFromKey(Buffer.from(v.sequenceKey, 'hex')), packets: packetsOf(v.ports, v.isns), observed: addr, nowSec: v.time + 5, windowSec: 30 });
    assert.deepEqual(d, { version: 1, flags: 0, serviceId: v.serviceId, timestamp: v.time });
    assert.equal(isProbe(d), false);
  });

  test(`vector ${v.name}: reply seals to the exact bytes and opens both ways`, () => {
    const binding = { sequence, isns: knockIsns(packetsOf(v.ports, v.isns)) };
    const next = sequenceFromKey(Buffer.from(v.reply.next, 'hex'));
    const sealed = sealReply(replyKey(key), { grantedPort: v.reply.grantedPort, expiresAt: v.reply.expiresAt, next, serverTimeMs: v.reply.serverTimeMs, observed: addr }, binding, () => Buffer.from(v.reply.nonce, 'hex'));
    assert.equal(sealed.toString('hex'), v.reply.payload);
    const r = openReply(replyKey(key), Buffer.from(v.reply.payload, 'hex'), binding);
    assert.equal(r.grantedPort, v.reply.grantedPort);
    assert.equal(r.expiresAt, v.reply.expiresAt);
    assert.equal(sequenceKey(r.next).toString('hex'), v.reply.next);
    assert.equal(r.serverTimeMs, v.reply.serverTimeMs);
    assert.deepEqual(r.observed, addr);
    const plain = independentOpenReply(key, Buffer.from(v.reply.payload, 'hex'), Buffer.from(v.sequenceKey, 'hex'), binding.isns);
    assert.equal(plain.length, 40);
    assert.equal(plain[1], 0); // status: granted
    assert.equal(plain.readUInt16BE(2), v.reply.grantedPort);
    assert.equal(plain.subarray(8, 17).toString('hex'), v.reply.next);
  });

  test(`vector ${v.name}: a probe encodes to the exact ISNs, independently too, and verifies from any address`, () => {
    const probe = encodeProbe({ keys: knockKeys(key), sequence, nowSec: v.probe.time });
    assert.deepEqual(probe.map((p) => hex8(p.isn)), v.probe.isns);
    const independent = independentKnockIsns({ key, ports: v.ports, tags: v.tags, serviceId: 0, time: v.probe.time, family: v.family, addr: addr.bytes, probe: true });
    assert.deepEqual(independent.map(hex8), v.probe.isns);
    for (const observed of [addr, { family: 4 as const, bytes: Buffer.from([203, 0, 113, 9]) }]) {
      const d = verifyKnock({ keys: knockKeys(key), sequence, packets: packetsOf(v.ports, v.probe.isns), observed, nowSec: v.probe.time + 1800, windowSec: 30 });
      assert.deepEqual(d, { version: 1, flags: 1, serviceId: 0, timestamp: v.probe.time });
      assert.equal(isProbe(d), true);
    }
  });

  test(`vector ${v.name}: the address report seals to the exact bytes and opens both ways`, () => {
    const binding = { sequence, isns: knockIsns(packetsOf(v.ports, v.probe.isns)) };
    const rep = v.probe.report;
    const sealed = sealAddressReport(replyKey(key), { windowSec: rep.windowSec, serverTimeMs: rep.serverTimeMs, observed: addr }, binding, () => Buffer.from(rep.nonce, 'hex'));
    assert.equal(sealed.toString('hex'), rep.payload);
    const r = openAnswer(replyKey(key), Buffer.from(rep.payload, 'hex'), binding);
    assert.equal(code(() => openReply(replyKey(key), Buffer.from(rep.payload, 'hex'), binding)), 'REPLY_SHAPE');
    assert.deepEqual(r, { kind: 'address', windowSec: rep.windowSec, serverTimeMs: rep.serverTimeMs, observed: addr });
    const plain = independentOpenReply(key, Buffer.from(rep.payload, 'hex'), Buffer.from(v.sequenceKey, 'hex'), binding.isns);
    assert.equal(plain[0], 1); // version
    assert.equal(plain[1], 1); // status: address report
    assert.equal(plain.readUInt16BE(2), rep.windowSec);
    assert.ok(plain.subarray(4, 17).equals(Buffer.alloc(13)));
    assert.equal(plain.readUIntBE(17, 6), rep.serverTimeMs);
    assert.equal(plain[23], v.family);
    assert.equal(plain.subarray(24, 24 + addr.bytes.length).toString('hex'), v.address);
  });
}

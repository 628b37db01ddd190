/**
 * Fuzz: >= 100,000 random and mutated inputs into every protocol decoder; the only acceptable
 * failure is a TumblerError with a known code. Seeded, so a failure reproduces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isTumblerError } from '../../shared/errors.js';
import { decodeBundle, encodeBundle } from '../../shared/protocol/bundle.js';
import { encodeKnock, encodeProbe, knockIsns, knockKeys, verifyKnock, type Knock } from '../../shared/protocol/knock.js';
import { decodeReplyPlaintext, encodeAddressReportPlaintext, encodeReplyPlaintext, openAnswer, openReply, replyKey, sealAddressReport, sealReply } from '../../shared/protocol/reply.js';
import { sequenceFromKey } from '../../shared/protocol/sequence.js';

function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  return { int: (n: number) => next() % n, bytes: (n: number) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = next() & 0xff; return b; } };
}
function mutate(r: ReturnType<typeof prng>, b: Buffer): Buffer {
  const t = Buffer.from(b);
  const kind = r.int(4);
  if (kind === 0 && t.length) { const i = r.int(t.length); t[i] = t[i]! ^ (1 << r.int(8)); }
  else if (kind === 1 && t.length) t[r.int(t.length)] = r.int(256);
  else if (kind === 2) return t.subarray(0, r.int(t.length + 1));
  else return Buffer.concat([t, r.bytes(r.int(8))]);
  return t;
}
function expectTyped(fn: () => unknown, prefixes: string[]): void {
  try { fn(); } catch (e) {
    assert.ok(isTumblerError(e), `untyped throw: ${String(e)}`);
    assert.ok(prefixes.some((p) => e.code.startsWith(p)), `unexpected code ${e.code}`);
  }
}

const N = 25_000; // per decoder, 4 decoders + bundle text: > 100,000 inputs in all

test('reply decoders: random and mutated payloads give only REPLY_* errors', () => {
  const r = prng(1);
  const key = replyKey(Buffer.alloc(16, 1));
  const binding = { sequence: { ports: [40001, 40002, 40003] as [number, number, number], tags: [1, 2, 3] as [number, number, number] }, isns: Buffer.alloc(12, 5) };
  const reply = { grantedPort: 50001, expiresAt: 1, next: binding.sequence, serverTimeMs: 1, observed: { family: 4 as const, bytes: Buffer.from([1, 2, 3, 4]) } };
  const sealed = sealReply(key, reply, binding, (n) => r.bytes(n));
  const plain = encodeReplyPlaintext(reply);
  const addressReport = { windowSec: 30, serverTimeMs: 1, observed: reply.observed };
  const report = sealAddressReport(key, addressReport, binding, (n) => r.bytes(n));
  const reportPlain = encodeAddressReportPlaintext(addressReport);
  for (let i = 0; i < N; i++) {
    const input = i % 2 ? mutate(r, sealed) : r.bytes(r.int(100));
    expectTyped(() => openReply(key, input, binding), ['REPLY_']);
    expectTyped(() => openAnswer(key, i % 2 ? mutate(r, report) : r.bytes(68), binding), ['REPLY_']);
    const p = i % 4 === 1 ? mutate(r, plain) : i % 4 === 3 ? mutate(r, reportPlain) : r.bytes(40);
    expectTyped(() => decodeReplyPlaintext(p), ['REPLY_']);
  }
});

test('knock verifier and sequence keys: random packets give only KNOCK_/SEQUENCE_ errors', () => {
  const r = prng(2);
  const keys = knockKeys(Buffer.alloc(16, 2));
  const sequence = { ports: [40001, 40500, 41000] as [number, number, number], tags: [7, 8, 9] as [number, number, number] };
  const addr = { family: 4 as const, bytes: Buffer.from([198, 51, 100, 2]) };
  const good = encodeKnock({ keys, sequence, serviceId: 1, nowSec: 1000, boundAddress: addr });
  const probe = encodeProbe({ keys, sequence, nowSec: 1000 });
  let accepted = 0;
  for (let i = 0; i < N; i++) {
    const packets = (i % 2 ? probe : good).map((p) => (r.int(2) ? { dstPort: r.int(65536), isn: r.bytes(4).readUInt32BE() } : { dstPort: p.dstPort, isn: (p.isn ^ (r.int(3) ? 1 << r.int(32) : 0)) >>> 0 }));
    try { verifyKnock({ keys, sequence, packets: packets as unknown as Knock, observed: addr, nowSec: 1000, windowSec: 30 }); accepted++; }
    catch (e) { assert.ok(isTumblerError(e) && e.code.startsWith('KNOCK_'), String(e)); }
    expectTyped(() => sequenceFromKey(r.bytes(r.int(12))), ['SEQUENCE_']);
  }
  // Only the unmodified knock may pass.
  assert.ok(accepted < N / 4);
  assert.equal(knockIsns(good).length, 12);
});

test('bundle decoder: random and mutated text gives only BUNDLE_ errors', () => {
  const r = prng(3);
  const text = encodeBundle({ gateways: [['192.0.2.1', '2001:db8::1'], ['198.51.100.1']], user: 'alice', device: 'phone', kdf: { salt: Buffer.alloc(16), N: 1 << 15, r: 8, p: 1 }, sequence: { ports: [40001, 40002, 40003], tags: [1, 2, 3] }, services: { ssh: 1 }, issuedAtMs: 1, check: 'abc' });
  const json = Buffer.from(text.split('.')[1]!, 'base64url').toString('utf8');
  for (let i = 0; i < N; i++) {
    let input: string;
    if (i % 3 === 0) input = mutate(r, Buffer.from(text)).toString('latin1');
    else if (i % 3 === 1) {
      // Re-checksummed mutations of the JSON reach the field validators.
      const j = mutate(r, Buffer.from(json)).toString('utf8');
      input = `tumbler2.${Buffer.from(j).toString('base64url')}.${createHash('sha256').update(j).digest().subarray(0, 4).toString('hex')}`;
    } else input = r.bytes(r.int(60)).toString('latin1');
    expectTyped(() => decodeBundle(input), ['BUNDLE_']);
  }
});

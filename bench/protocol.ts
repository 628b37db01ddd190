/**
 * Protocol v1 throughput (docs/protocol.md, "Verification cost"): knock encode, knock verify (valid
 * knock, subkeys cached and not; forged MAC), reply seal and open, sequence key. Pure CPU, one
 * thread, no I/O. Each case runs for a bounded time and a bounded count; prints a markdown table.
 *
 * Run: node --import tsx bench/protocol.ts [--ms 2000]
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { encodeKnock, knockIsns, knockKeys, verifyKnock, type Knock } from '../shared/protocol/knock.js';
import { openReply, replyKey, sealReply, type Reply } from '../shared/protocol/reply.js';
import { generateSequence, sequenceKey, type Sequence } from '../shared/protocol/sequence.js';

const MS_PER_CASE = (() => {
  const i = process.argv.indexOf('--ms');
  const v = i >= 0 ? Number(process.argv[i + 1]) : 2000;
  return Number.isInteger(v) && v >= 100 && v <= 60_000 ? v : 2000;
})();
const MAX_OPS = 50_000_000; // hard cap on iterations per case, whatever the machine
const BATCH = 64; // check the clock every BATCH operations

interface Row { name: string; ops: number; ms: number }

/** Run `op` for MS_PER_CASE ms (after a short warm-up), at most MAX_OPS times. */
function measure(name: string, op: (i: number) => void): Row {
  const warmEnd = performance.now() + Math.min(200, MS_PER_CASE / 10);
  for (let i = 0; performance.now() < warmEnd && i < MAX_OPS; i += BATCH) for (let j = 0; j < BATCH; j++) op(i + j);
  const start = performance.now();
  const end = start + MS_PER_CASE;
  let ops = 0;
  while (ops < MAX_OPS) {
    for (let j = 0; j < BATCH; j++) op(ops + j);
    ops += BATCH;
    if (performance.now() >= end) break;
  }
  return { name, ops, ms: performance.now() - start };
}

// 1. Fixed inputs: one device, one sequence, one address, a clock in the window.
const deviceKey = randomBytes(16);
const keys = knockKeys(deviceKey);
const rKey = replyKey(deviceKey);
const range = { first: 40000, last: 44095 }; // N = 4096
const sequence: Sequence = generateSequence(range, randomBytes);
const observed = { family: 4 as const, bytes: Buffer.from([198, 51, 100, 2]) };
const nowSec = 1_800_000_000;
const knock = encodeKnock({ keys, sequence, serviceId: 1, nowSec, boundAddress: observed });
const forged = knock.map((p, i) => (i === 0 ? { dstPort: p.dstPort, isn: (p.isn ^ 1) >>> 0 } : p)) as unknown as Knock;
const binding = { sequence, isns: knockIsns(knock) };
const reply: Reply = {
  grantedPort: 51234, expiresAt: nowSec + 30, next: generateSequence(range, randomBytes), serverTimeMs: nowSec * 1000, observed,
};
const nonces = randomBytes(12 * 1024);
const nonce = (i: number) => (): Buffer => nonces.subarray((i % 1024) * 12, (i % 1024) * 12 + 12);
const sealed = sealReply(rKey, reply, binding, nonce(0));
const manyKeys = Array.from({ length: 1024 }, () => randomBytes(16));

// 2. Sanity: the cases below must exercise the success path (and the forged one must fail).
verifyKnock({ keys, sequence, packets: knock, observed, nowSec, windowSec: 30 });
openReply(rKey, sealed, binding);
let forgedFails = false;
try { verifyKnock({ keys, sequence, packets: forged, observed, nowSec, windowSec: 30 }); } catch { forgedFails = true; }
if (!forgedFails) throw new Error('bench setup: the forged knock verified');

// 3. The cases.
const rows: Row[] = [
  measure('knock encode (subkeys cached)', (i) => {
    encodeKnock({ keys, sequence, serviceId: 1, nowSec: nowSec + (i & 15), boundAddress: observed });
  }),
  measure('knock verify, valid (subkeys cached)', () => {
    verifyKnock({ keys, sequence, packets: knock, observed, nowSec, windowSec: 30 });
  }),
  measure('knock verify, valid (subkeys derived per verify)', () => {
    verifyKnock({ keys: knockKeys(deviceKey), sequence, packets: knock, observed, nowSec, windowSec: 30 });
  }),
  measure('knock verify, forged MAC (subkeys cached)', () => {
    try { verifyKnock({ keys, sequence, packets: forged, observed, nowSec, windowSec: 30 }); } catch { /* expected */ }
  }),
  measure('knock subkeys (2 x HMAC-SHA256)', (i) => { knockKeys(manyKeys[i & 1023]!); }),
  measure('reply seal (AES-128-GCM, 40 B)', (i) => { sealReply(rKey, reply, binding, nonce(i)); }),
  measure('reply open (AES-128-GCM, 68 B)', () => { openReply(rKey, sealed, binding); }),
  measure('sequenceKey (9-byte lookup key)', () => { sequenceKey(sequence); }),
  measure('generateSequence (crypto.randomBytes)', () => { generateSequence(range, randomBytes); }),
];

// 4. Report.
const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`Tumbler protocol v1 bench: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, one thread, ${MS_PER_CASE} ms per case\n`);
console.log('| operation | ops/s | µs/op | ops measured |');
console.log('|---|---:|---:|---:|');
for (const r of rows) {
  const perSec = (r.ops * 1000) / r.ms;
  console.log(`| ${r.name} | ${fmt(perSec)} | ${fmt((r.ms * 1000) / r.ops, 2)} | ${fmt(r.ops)} |`);
}

/**
 * Benchmark tool (root, inside the client namespace the benchmark made): sends one valid knock for
 * each device in a JSON file, as fast as it can, each from the source address listed for it.
 * Input: [{ key: hex, ports: [3], tags: [3], src }]. Bounded by the file (≤ 20,000 devices) and 30 s.
 *   node --import tsx valid-knocks.ts FILE DST RATE   (knocks/s; 0 = back to back)
 * Prints "sent <knocks> <startEpochMs>".
 */
import { createRequire } from 'node:module';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { buildSyn } from '../../shared/packet/tcp.js';
import { chooseSynShape } from '../../shared/packet/syn-shape.js';
import { encodeKnock, knockKeys } from '../../shared/protocol/knock.js';

interface Device { key: string; ports: [number, number, number]; tags: [number, number, number]; src: string }
const [file, dst, rateArg] = process.argv.slice(2);
const rate = Number(rateArg ?? 0);
const devices = (JSON.parse(readFileSync(file!, 'utf8')) as Device[]).slice(0, 20_000);
const raw = createRequire(import.meta.url)('raw-socket') as {
  createSocket(o: { protocol: number }): { send(b: Buffer, o: number, l: number, a: string, cb: (e?: Error) => void): void; close(): void };
};
const sock = raw.createSocket({ protocol: 255 });
const send = (b: Buffer) => new Promise<void>((res, rej) => sock.send(b, 0, b.length, dst!, (e) => (e ? rej(e) : res())));

// Build everything first, so the send loop measures the server, not this process's crypto.
const nowSec = Math.floor(Date.now() / 1000);
const frames = devices.flatMap((d) => {
  const knock = encodeKnock({ keys: knockKeys(Buffer.from(d.key, 'hex')), sequence: { ports: d.ports, tags: d.tags }, serviceId: 1, nowSec,
    boundAddress: { family: 4, bytes: Buffer.from(d.src.split('.').map(Number)) } });
  const shape = chooseSynShape(4, randomBytes);
  return knock.map((p) => buildSyn({ family: 4, src: d.src, dst: dst!, srcPort: randomInt(32768, 61000), dstPort: p.dstPort, isn: p.isn, shape }));
});
const start = Date.now();
for (let i = 0; i < frames.length; i++) {
  if (Date.now() - start > 30_000) break;
  await send(frames[i]!);
  const due = rate > 0 ? start + (Math.floor(i / 3) * 1000) / rate : 0; // pace whole knocks
  if (i % 3 === 2 && due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
}
sock.close();
process.stdout.write(`sent ${devices.length} ${start}\n`);

/**
 * Test tool (root, inside a namespace the test made): sends crafted SYNs from a raw socket.
 *   --src A --dst B  --packets PORT:ISN,PORT:ISN,...   exact SYNs (replay of a captured knock)
 *   --src A --dst B  --random N --range LO-HI --rate PPS  N SYNs to random ports, random ISNs (bounded)
 * Bounded in count and time; exits by itself.
 */
import { createRequire } from 'node:module';
import { randomBytes, randomInt } from 'node:crypto';
import { buildSyn } from '../../../shared/packet/tcp.js';
import { chooseSynShape } from '../../../shared/packet/syn-shape.js';

const arg = (k: string): string | undefined => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : undefined; };
const src = arg('--src')!;
const dst = arg('--dst')!;
const raw = createRequire(import.meta.url)('raw-socket') as {
  createSocket(o: { protocol: number; addressFamily?: number }): { send(b: Buffer, o: number, l: number, a: string, cb: (e?: Error) => void): void; close(): void };
};
const sock = raw.createSocket({ protocol: 255 });
const send = (b: Buffer) => new Promise<void>((res, rej) => sock.send(b, 0, b.length, dst, (e) => (e ? rej(e) : res())));
const MAX_PACKETS = 200_000;
const MAX_SECONDS = 20;

async function main(): Promise<void> {
  const started = Date.now();
  const exact = arg('--packets');
  if (exact) {
    const shape = chooseSynShape(4, randomBytes);
    for (const pi of exact.split(',')) {
      const [port, isn] = pi.split(':').map(Number);
      await send(buildSyn({ family: 4, src, dst, srcPort: randomInt(32768, 61000), dstPort: port!, isn: isn! >>> 0, shape }));
    }
  } else {
    const n = Math.min(Number(arg('--random') ?? 0), MAX_PACKETS);
    const [lo, hi] = (arg('--range') ?? '40000-40999').split('-').map(Number);
    const rate = Math.max(1, Number(arg('--rate') ?? 1000));
    for (let i = 0; i < n && Date.now() - started < MAX_SECONDS * 1000; i++) {
      const shape = chooseSynShape(4, randomBytes);
      await send(buildSyn({ family: 4, src, dst, srcPort: randomInt(32768, 61000), dstPort: randomInt(lo!, hi! + 1), isn: randomBytes(4).readUInt32BE(0), shape }));
      const due = started + ((i + 1) * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
  sock.close();
}
main().then(() => process.exit(0), (e) => { process.stderr.write(String(e) + '\n'); process.exit(1); });

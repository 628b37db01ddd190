// A compromised worker, for the monitor supervisor test. On its n-th start it reads the config the
// monitor hands it on fd 4 (saved next to the answers), says hello, reconciles (final), and plays
// the n-th script of argv: a malformed or out-of-phase request (the monitor must kill it), or, past
// the list, the refused requests followed by a good open (the monitor must answer them all). It
// prints each answer it gets to the answers file and waits for the monitor's verdict.
import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { Socket } from 'node:net';

const [stateFile, answersFile, ...kinds] = process.argv.slice(2);
const n = Number(readFileSync(stateFile, 'utf8') || '0');
writeFileSync(stateFile, String(n + 1));
const kind = kinds[n] ?? 'refused_then_good';

const config = new Socket({ fd: 4, readable: true, writable: false });
let configText = '';
config.on('data', (d) => { configText += d.toString(); });
config.on('end', () => writeFileSync(`${answersFile}.config`, configText));

const channel = new Socket({ fd: 3, readable: true, writable: true });
const frame = (obj) => {
  const body = Buffer.from(JSON.stringify(obj));
  const h = Buffer.alloc(4);
  h.writeUInt32BE(body.length);
  return Buffer.concat([h, body]);
};
const open = { op: 'open', id: 3, family: 4, address: '198.51.100.2', port: 50100, service: 'ssh', ttl: 30 };
const hello = frame({ op: 'hello', id: 1, pid: process.pid });
const reconciled = frame({ op: 'reconcile', id: 2, keep: [], final: true });
const scripts = {
  truncated: () => [hello, reconciled, frame(open).subarray(0, 20)],
  oversize: () => { const h = Buffer.alloc(4); h.writeUInt32BE(1 << 20); return [hello, reconciled, Buffer.concat([h, Buffer.alloc(64, 0x7b)])]; },
  bad_json: () => { const b = Buffer.from('{"op":"open",'); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); return [hello, reconciled, Buffer.concat([h, b])]; },
  unknown_op: () => [hello, reconciled, frame({ op: 'exec', id: 3, argv: ['/bin/sh'] })],
  list_op: () => [hello, reconciled, frame({ op: 'list', id: 3 })],
  extra_field: () => [hello, reconciled, frame({ ...open, table: 'filter' })],
  address_syntax: () => [hello, reconciled, frame({ ...open, address: '198.51.100.2 } ; flush ruleset' })],
  open_before_reconcile: () => [hello, frame(open)],
  hello_twice: () => [hello, reconciled, frame({ op: 'hello', id: 3, pid: process.pid })],
  flood: () => [hello, reconciled, Buffer.concat(Array.from({ length: 4097 }, (_, i) => frame({ ...open, id: 10 + i, port: 50000 + (i % 1000) })))],
  refused_then_good: () => [hello, reconciled, ...[
    { ...open, id: 11, address: '127.0.0.1' },
    { ...open, id: 12, address: '0.1.2.3' },
    { ...open, id: 13, port: 22 },
    { ...open, id: 14, service: 'db' },
    { ...open, id: 15, ttl: 86_400 },
    open,
  ].map(frame)],
};
let got = Buffer.alloc(0);
channel.on('data', (b) => {
  got = Buffer.concat([got, b]);
  while (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) {
    appendFileSync(answersFile, `${kind} ${got.subarray(4, 4 + got.readUInt32BE(0)).toString()}\n`);
    got = got.subarray(4 + got.readUInt32BE(0));
  }
});
channel.on('error', () => undefined);
const parts = scripts[kind]();
const last = parts.pop();
for (const p of parts) channel.write(p);
if (kind === 'truncated') channel.end(last);
else channel.write(last);
setTimeout(() => process.exit(0), 20_000).unref();
setInterval(() => undefined, 1_000);

// A compromised worker, for the monitor supervisor test: on its n-th start it says hello and then
// sends the n-th malformed request of argv (or, past the list, one well-formed open). It then waits
// for the monitor's verdict: being killed, or an answer it prints to the state file.
import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { Socket } from 'node:net';

const [stateFile, answersFile, ...kinds] = process.argv.slice(2);
const n = Number(readFileSync(stateFile, 'utf8') || '0');
writeFileSync(stateFile, String(n + 1));
const kind = kinds[n] ?? 'good';

const channel = new Socket({ fd: 3, readable: true, writable: true });
const frame = (obj) => {
  const body = Buffer.from(JSON.stringify(obj));
  const h = Buffer.alloc(4);
  h.writeUInt32BE(body.length);
  return Buffer.concat([h, body]);
};
const open = { op: 'open', id: 2, family: 4, address: '198.51.100.2', port: 50100, service: 'ssh', ttl: 30 };
const bad = {
  truncated: () => frame(open).subarray(0, 20),
  oversize: () => { const h = Buffer.alloc(4); h.writeUInt32BE(1 << 20); return Buffer.concat([h, Buffer.alloc(64, 0x7b)]); },
  bad_json: () => { const b = Buffer.from('{"op":"open",'); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); return Buffer.concat([h, b]); },
  unknown_op: () => frame({ op: 'exec', id: 2, argv: ['/bin/sh'] }),
  extra_field: () => frame({ ...open, table: 'filter' }),
  bad_address: () => frame({ ...open, address: '224.0.0.1' }),
  port_out_of_range: () => frame({ ...open, port: 22 }),
  unknown_service: () => frame({ ...open, service: 'db' }),
  ttl_too_long: () => frame({ ...open, ttl: 86_400 }),
  good: () => frame(open),
};
channel.on('data', (b) => appendFileSync(answersFile, `${kind} ${b.subarray(4).toString()}\n`));
channel.on('error', () => undefined);
channel.write(frame({ op: 'hello', id: 1, pid: process.pid }));
const payload = bad[kind]();
if (kind === 'truncated') channel.end(payload);
else channel.write(payload);
setTimeout(() => process.exit(0), 20_000).unref();
setInterval(() => undefined, 1_000);

/**
 * What looking like this host's own connect() costs a knock (docs/protocol.md §13): reading the
 * host's SYN settings, route and busy ports (client/transport/host-tcp.ts) before the three SYNs
 * are built, side by side with its parts and with the /proc/net/tcp fallback it avoids (that file
 * walks the whole established hash, whatever the number of sockets). Goal: under 15 ms a knock on
 * this kind of machine, small next to a knock's round trip and the client's ~250 ms start.
 *
 * Run: node --import tsx bench/host-syn.ts [--runs 50]
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { buildKnockFrames } from '../client/knock/frames.js';
import {
  readEphemeralPorts, readHostSyn, readRouteMetrics, readTcpSettings, realHostIo, type HostIo,
} from '../client/transport/host-tcp.js';
import type { Knock } from '../shared/protocol/knock.js';
import { stats } from './lib/stats.js';

const GOAL_MS = 15;
const DST = '192.0.2.1';
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 50) || 50;
const knock = [0, 1, 2].map((i) => ({ dstPort: 40_001 + i, isn: i })) as unknown as Knock;
const noSs: HostIo = { ...realHostIo, tcpSockets: () => null };

function sample(f: () => void): number[] {
  f(); // warm
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    out.push(performance.now() - t);
  }
  return out;
}

const host = readHostSyn(4, DST);
const rows: Array<[string, number[]]> = [
  ['sysctls + kernel release (/proc/sys)', sample(() => readTcpSettings(4))],
  ['route: `ip -j route get` + device MTU', sample(() => readRouteMetrics(DST))],
  ['busy ports: `ss -Htan` (used)', sample(() => readEphemeralPorts())],
  ['busy ports: /proc/net/tcp + tcp6 (fallback)', sample(() => readEphemeralPorts(noSs))],
  ['readHostSyn (all of the above, ss)', sample(() => readHostSyn(4, DST))],
  ['buildKnockFrames, host already read', sample(() => buildKnockFrames(4, '198.51.100.2', DST, knock, randomBytes, host))],
  ['buildKnockFrames, reading the host', sample(() => buildKnockFrames(4, '198.51.100.2', DST, knock, randomBytes))],
];
const median = (xs: number[]): number => stats(xs)!.median;
const cost = median(rows[4]![1]);
console.log(`Tumbler host-SYN bench: node ${process.version}, ${cpus()[0]?.model.trim() ?? '?'} x${cpus().length}, ${runs} runs each\n`);
console.log('| step | median ms | min ms | max ms |');
console.log('|---|---:|---:|---:|');
for (const [name, s] of rows) console.log(`| ${name} | ${median(s).toFixed(2)} | ${Math.min(...s).toFixed(2)} | ${Math.max(...s).toFixed(2)} |`);
console.log(`\nGoal: reading the host adds < ${GOAL_MS} ms to a knock — ${cost < GOAL_MS ? 'met' : 'missed'} (${cost.toFixed(1)} ms median).`);

/**
 * Smoke check of the rival guards in the e2e topology, as root:
 *   node --import tsx bench/guards/rivals-check.ts [fwknop|knockd ...]
 * For each guard: start → sshd silent from the client → knock → open from the client only →
 * revokeAll → silent again → stop (firewall state gone). Exits non-zero on the first failure.
 */
import { spawnSync } from 'node:child_process';
import { SERVER_ADDR, World, type Probe } from '../../test/e2e/world.js';
import type { Guard } from './guard.js';
import { createFwknopGuard } from './fwknop.js';
import { createKnockdGuard } from './knockd.js';

const all: Record<string, () => Guard> = { fwknop: createFwknopGuard, knockd: createKnockdGuard };
const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(all);

function expect(what: string, got: Probe, want: Probe): void {
  if (got !== want) throw new Error(`${what}: ${got}, expected ${want}`);
  console.log(`  ok  ${what}: ${got}`);
}

async function check(g: Guard): Promise<void> {
  console.log(`${g.name}:`);
  const w = World.create('b');
  try {
    let t = performance.now();
    await g.start(w);
    console.log(`  start (ready, first grant revoked): ${(performance.now() - t).toFixed(0)} ms, pids ${g.pids(w).join(',')}`);
    expect('client before knock', w.probe(w.ns.cli, SERVER_ADDR, 22), 'timeout');
    t = performance.now();
    const k = spawnSync('ip', ['netns', 'exec', w.ns.cli, ...g.knockArgv(w)], { encoding: 'utf8', timeout: 30_000 });
    if (k.status !== 0) throw new Error(`knock exited ${k.status}: ${k.stderr}`);
    const knockMs = performance.now() - t;
    const port = g.portAfter(w, k.stdout);
    // Poll with short probes (a dropped SYN is retried only after 1 s): the grant may land a
    // little after the client command exits. The 'timeout' checks keep the full 1 s.
    let p: Probe = 'timeout';
    for (let i = 0; i < 25 && p !== 'connected'; i++) p = w.probe(w.ns.cli, SERVER_ADDR, port, 0.2);
    console.log(`  knock command ${knockMs.toFixed(0)} ms, connected after ${(performance.now() - t).toFixed(0)} ms (0.2 s probes)`);
    expect(`client after knock (port ${port})`, p, 'connected');
    expect('attacker after client knock', w.probe(w.ns.atk, SERVER_ADDR, port), 'timeout');
    t = performance.now();
    await g.revokeAll(w);
    console.log(`  revokeAll ${(performance.now() - t).toFixed(0)} ms`);
    expect('client after revokeAll', w.probe(w.ns.cli, SERVER_ADDR, port), 'timeout');
    t = performance.now();
    await g.stop(w);
    console.log(`  stop ${(performance.now() - t).toFixed(0)} ms`);
    const left = spawnSync('ip', ['netns', 'exec', w.ns.srv, 'iptables-save'], { encoding: 'utf8' }).stdout
      .split('\n').filter((l) => l.startsWith('-A') || (l.startsWith(':') && !/^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) /.test(l)));
    if (left.length) throw new Error(`firewall state left after stop:\n${left.join('\n')}`);
    console.log('  ok  no iptables rules or chains left after stop');
  } finally {
    await g.stop(w).catch(() => undefined);
    w.destroy();
  }
}

if (process.getuid?.() !== 0) throw new Error('run as root');
for (const n of names) {
  const f = all[n];
  if (!f) throw new Error(`unknown guard ${n} (known: ${Object.keys(all).join(', ')})`);
  await check(f());
}
console.log('rivals-check: all ok');
process.exit(0);

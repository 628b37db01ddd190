/**
 * How fast a grant reaches the kernel (issue 4: "measure; no process spawned per grant if that costs
 * milliseconds"), as root in a network namespace made here: the nftables backend's long-lived
 * `nft -i` session, the iptables backend's long-lived `ipset -` session, and, for comparison, one
 * `nft add element` process per grant. Bounded in count. Prints a markdown table and writes
 * bench/results/firewall.md.
 *
 * Run: node --import tsx bench/firewall.ts
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { createFirewall } from '../server/monitor/firewall/backend.js';
import { inNs, NetnsLab } from '../test/helpers/netns.js';
import { testConfig } from '../test/unit/server/monitor/firewall/fixtures.js';
import { REPO } from '../test/e2e/world.js';

const N = 2000;
const N_SPAWN = 200;
const addr = (i: number) => `198.51.100.${(i % 250) + 1}`;

async function backendRate(kind: 'nftables' | 'iptables', ns: string): Promise<number> {
  const fw = createFirewall(testConfig(kind), { table: kind === 'nftables' ? 'tmbbench' : 'tmbb', commandPrefix: inNs(ns) });
  await fw.install();
  try {
    await fw.open({ family: 4, address: addr(0), port: 50999, service: 'ssh', ttlSec: 60 }); // warm the session
    const t = performance.now();
    for (let i = 0; i < N; i++) await fw.open({ family: 4, address: addr(i), port: 50000 + Math.floor(i / 250), service: 'ssh', ttlSec: 60 });
    return (performance.now() - t) / N;
  } finally {
    await fw.dispose();
  }
}

function spawnRate(ns: string): number {
  const must = (args: string[]) => spawnSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8' });
  must(['add table inet tmbspawn; add map inet tmbspawn g { type ipv4_addr . inet_service : ipv4_addr . inet_service; flags timeout; }']);
  const t = performance.now();
  for (let i = 0; i < N_SPAWN; i++) must(['add', 'element', 'inet', 'tmbspawn', 'g', `{ ${addr(i)} . ${50000 + i} timeout 60s : 192.0.2.1 . 22 }`]);
  return (performance.now() - t) / N_SPAWN;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (network namespaces, nftables)');
  const lab = new NetnsLab('fwbench');
  const rows: string[] = [];
  try {
    const ns = lab.addNamespace('srv');
    const nft = await backendRate('nftables', ns);
    const ipt = await backendRate('iptables', ns);
    const spawned = spawnRate(ns);
    rows.push(`| nftables backend (one long-lived \`nft -i\`) | ${N} | ${(nft * 1000).toFixed(0)} µs | ${Math.round(1000 / nft).toLocaleString('en')} |`);
    rows.push(`| iptables backend (one long-lived \`ipset -\`) | ${N} | ${(ipt * 1000).toFixed(0)} µs | ${Math.round(1000 / ipt).toLocaleString('en')} |`);
    rows.push(`| one \`nft add element\` process per grant (not used) | ${N_SPAWN} | ${(spawned * 1000).toFixed(0)} µs | ${Math.round(1000 / spawned).toLocaleString('en')} |`);
  } finally {
    lab.cleanup();
  }
  const out = [
    `# Grant → kernel, ${new Date().toISOString().slice(0, 10)}`, '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, node ${process.version}. Sequential opens, each awaited until the tool confirmed it.`, '',
    '| path | grants | per grant | grants/s |', '|---|---:|---:|---:|', ...rows, '',
  ].join('\n');
  process.stdout.write(out);
  writeFileSync(join(REPO, 'bench/results/firewall.md'), out);
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });

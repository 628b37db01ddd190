/**
 * Time to a grant where users are (issue 14), in the roaming world of the end-to-end tests
 * (test/e2e/roam-world.ts: a client behind a masquerading NAT router, a dual-stack tumblerd, the
 * real client as an unprivileged user through the setuid helper). Printed, never asserted:
 *   node --import tsx bench/nat.ts [--runs 10]      (root; writes bench/results/nat.md)
 * Each row is `tumbler open` from command start to exit (Node's start included; `node -e 0` is
 * printed beside it), and how many knocks and probes it sent (from its -v notes): the round trips.
 * The namespaces' own round trip is ~0.1 ms (this kernel has no netem to add delay), so the times
 * show process start and waits; the round-trip counts are what a real network multiplies.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ROAM, RoamWorld } from '../test/e2e/roam-world.js';
import { REPO } from '../test/e2e/world.js';
import { stats, type Stats } from './lib/stats.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Math.max(1, Math.min(50, Number(process.argv[runsArg + 1]))) : 10;
const DEFAULT_TIMEOUT_MS = 1000;
/** What one knock could wait before this design: three sends, waits 1 + 1.5 + 2 timeouts. */
const FIRST_KNOCK_BUDGET_MS = 4.5 * DEFAULT_TIMEOUT_MS;

interface Row { name: string; ms: Stats | undefined; knocks: number; probes: number; failures: number }

function timedOpen(w: RoamWorld, profile: string, extra: string[] = []): { ms: number; knocks: number; probes: number; ok: boolean } {
  const t0 = process.hrtime.bigint();
  const r = w.client(['open', profile, '--json', '-v', ...extra]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, knocks: (r.stderr.match(/^tumbler: knocking on /gm) ?? []).length, probes: (r.stderr.match(/^tumbler: asking /gm) ?? []).length, ok: r.code === 0 };
}

function row(name: string, samples: Array<ReturnType<typeof timedOpen>>): Row {
  const ok = samples.filter((s) => s.ok);
  const avg = (k: 'knocks' | 'probes'): number => (ok.length ? ok.reduce((a, s) => a + s[k], 0) / ok.length : 0);
  return { name, ms: stats(ok.map((s) => s.ms)), knocks: avg('knocks'), probes: avg('probes'), failures: samples.length - ok.length };
}

function nodeBareStart(w: RoamWorld): Stats | undefined {
  const ids = w.clientIds();
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    spawnSync('ip', ['netns', 'exec', w.ns.cli, 'setpriv', `--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--init-groups', '--', process.execPath, '-e', '0']);
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return stats(xs);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (network namespaces)');
  const w = RoamWorld.createRoam('ncb');
  process.on('SIGINT', () => { w.destroy(); process.exit(130); });
  try {
    w.writeConfig({ ttl: 30 });
    const natOnly = w.enroll('alice', { services: 'ssh', server: ROAM.srv4 });
    const direct6 = w.enroll('bob', { services: 'ssh', server: ROAM.srv6 });
    const fresh = Array.from({ length: RUNS }, (_, i) => w.enroll(`fresh${i}`, { services: 'ssh', server: ROAM.srv4 }));
    await w.startDaemon();
    const rows: Row[] = [];
    const repeat = (fn: () => ReturnType<typeof timedOpen>): Array<ReturnType<typeof timedOpen>> => Array.from({ length: RUNS }, fn);

    timedOpen(w, direct6); // learn the address once
    rows.push(row('no NAT (IPv6), address known — the common case', repeat(() => timedOpen(w, direct6))));
    timedOpen(w, natOnly);
    rows.push(row('behind NAT, public address known — the common case', repeat(() => timedOpen(w, natOnly))));
    rows.push(row('behind NAT, first knock of a fresh enrollment', fresh.map((p) => timedOpen(w, p))));
    let flip = 0;
    const changed = (extra: string[]) => () => {
      w.setPublicAddress(flip++ % 2 === 0 ? ROAM.public4b : ROAM.public4);
      return timedOpen(w, natOnly, extra);
    };
    rows.push(row('behind NAT, the NAT\'s public address changed since the last knock', repeat(changed([]))));
    rows.push(row('same, --timeout 300', repeat(changed(['--timeout', '300']))));
    const bare = nodeBareStart(w);

    const f = (x: number): string => x.toFixed(0);
    const s = (x: Stats | undefined): string => (x ? `${f(x.median)} | ${f(x.p90)} | ${f(x.min)}–${f(x.max)}` : 'n/a | n/a | n/a');
    const byName = (prefix: string): Row => rows.find((r) => r.name.startsWith(prefix))!;
    const common = [byName('no NAT'), byName('behind NAT, public address known')];
    const targets: Array<[string, string, boolean]> = [
      ['common case: one knock, no probe (no extra round trip)', common.map((r) => `${r.knocks} knock, ${r.probes} probe`).join('; '),
        common.every((r) => r.knocks === 1 && r.probes === 0 && r.failures === 0)],
      [`first knock behind a fresh NAT: within one knock's old budget (${FIRST_KNOCK_BUDGET_MS} ms of waits, + Node's start)`,
        `${f(byName('behind NAT, first').ms?.median ?? NaN)} ms`, (byName('behind NAT, first').ms?.p90 ?? Infinity) <= FIRST_KNOCK_BUDGET_MS + (bare?.p90 ?? 0)],
      [`after an address change: within the same budget`, `${f(byName('behind NAT, the NAT').ms?.median ?? NaN)} ms`,
        (byName('behind NAT, the NAT').ms?.p90 ?? Infinity) <= FIRST_KNOCK_BUDGET_MS + (bare?.p90 ?? 0)],
      ['no failures', String(rows.reduce((a, r) => a + r.failures, 0)), rows.every((r) => r.failures === 0)],
    ];
    const report = [
      `Tumbler NAT bench: ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpus()[0]?.model.trim() ?? 'cpu'} x${cpus().length}, ${RUNS} runs per case`,
      'Namespaces joined by veth pairs (round trip ~0.1 ms, no netem here); `tumbler open` as an unprivileged user through the setuid helper; times are command start → exit.',
      '',
      '| case | median ms | p90 ms | range ms | knocks | probes | failed |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) => `| ${r.name} | ${s(r.ms)} | ${r.knocks.toFixed(1)} | ${r.probes.toFixed(1)} | ${r.failures} |`),
      `| node -e 0 (bare start, same user and namespace) | ${s(bare)} | | | |`,
      '',
      '| target | measured | met |',
      '|---|---|---|',
      ...targets.map(([t, m, ok]) => `| ${t} | ${m} | ${ok ? 'met' : 'MISSED'} |`),
      '',
      'Round trips per case: known address 1 (the knock); fresh NAT 2 (probe, knock); changed address 2 after one wait',
      '(the stale knock\'s timeout, then probe and knock), which is why --timeout trades that wait against patience on a slow path.',
      '',
    ].join('\n');
    process.stdout.write(report);
    mkdirSync(join(REPO, 'bench', 'results'), { recursive: true });
    writeFileSync(join(REPO, 'bench', 'results', 'nat.md'), report);
  } finally {
    w.destroy();
  }
}

await main();

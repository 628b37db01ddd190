/**
 * Tumbler side by side with fwknop and knockd, in the end-to-end topology (test/e2e/world.ts), one
 * guard at a time, each protecting sshd on the server. Run as root: `npm run bench`.
 * Installs fwknop-server, fwknop-client and knockd when missing. Prints one markdown table and
 * writes it to bench/results/compare.md. Every flood is bounded in packets and seconds.
 *
 * Figures per guard (median, p90, min–max over the trials):
 *  1. knock → grant, server side, from the server's own capture: first knock packet on the wire →
 *     first proof the grant is in the kernel (Tumbler: its sealed reply, sent only after the
 *     firewall confirmed; fwknop/knockd: sshd's SYN-ACK to the client's 2 ms connect loop).
 *  2. end to end: client command started → first successful TCP connect to the service.
 *  3. floods from the attacker (random ports; aimed at the guard's knock ports / SPA port):
 *     10 legitimate knocks during each, attacker grants, daemon CPU per million packets, RSS.
 *  4. (Tumbler) junk SYNs/s the worker inspects without a pcap drop, at stepped paced rates.
 *  5. (Tumbler) the client three ways — `tumbler open` knocking itself, `tumbler open` through a
 *     running agent, the ssh connector tumbler-connect — beside Node's bare start measured the same
 *     way (same driver, same account and environment); tumblerd's RSS idle and over three 15 s
 *     floods (bench/footprint.ts).
 * Options: --trials N (default 20), --only NAME[,NAME] (tumbler, tumbler-agent, tumbler-connect,
 * tumbler-100k, fwknop, knockd), --flood-seconds S (default 8), --footprint-seconds S (default 15).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ATTACKER_ADDR, CLIENT_ADDR, REPO, SERVER_ADDR, World } from '../test/e2e/world.js';
import { until } from '../test/helpers/until.js';
import { footprintRows, measureFootprint, type FootprintRun } from './footprint.js';
import type { Guard } from './guards/guard.js';
import { asClient, createTumblerGuard } from './guards/tumbler.js';
import { captureOn, type Capture } from './lib/capture.js';
import { FLOOD_MAX_PACKETS, buildFlooder, flood as floodOnce } from './lib/flood.js';
import { seedDevices } from './lib/seed.js';
import { fmtStats, stats } from './lib/stats.js';

const arg = (k: string, d: string): string => { const i = process.argv.indexOf(k); return i >= 0 ? process.argv[i + 1]! : d; };
const TRIALS = Math.min(Math.max(Number(arg('--trials', '20')), 1), 200);
const FLOOD_SECONDS = Math.min(Math.max(Number(arg('--flood-seconds', '8')), 1), 30);
const FOOTPRINT_SECONDS = Math.min(Math.max(Number(arg('--footprint-seconds', '15')), 1), 30);
const ONLY = arg('--only', '').split(',').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Trial { ok: boolean; e2eMs?: number; serverMs?: number }
interface FloodRow { kind: string; sent: number; seconds: number; ok: number; latency: number[]; attackerGrants: number; cpuPerMillion: number; rssBefore: number; rssAfter: number }

function ensurePackages(pkgs: readonly string[]): void {
  const missing = pkgs.filter((p) => !/install ok installed/.test(spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout ?? ''));
  if (!missing.length) return;
  console.error(`bench: installing ${missing.join(' ')}`);
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed`);
}

/** One trial through the in-namespace driver. */
function trial(w: World, g: Guard, cap: Capture, knownPort: number | undefined): Promise<Trial> {
  const argv = [process.execPath, join(REPO, 'bench/tools/client-driver.mjs'), SERVER_ADDR, JSON.stringify(g.knockArgv(w)),
    ...(knownPort ? ['--probe', String(knownPort)] : []), ...(g.connects ? ['--self-connects'] : [])];
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', w.ns.cli, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b));
    const kill = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.once('exit', async () => {
      clearTimeout(kill);
      const r = JSON.parse(out.trim().split('\n').pop() || '{}') as { t0?: number; tConnected?: number | null; code?: number };
      if (r.code !== 0 || !r.tConnected || !r.t0) return resolve({ ok: false });
      await sleep(50); // let tcpdump print the last lines
      const serverMs = cap.knockToGrant(r.t0, r.tConnected, g.target, g.name.startsWith('tumbler'));
      resolve({ ok: true, e2eMs: r.tConnected - r.t0, serverMs });
    });
  });
}

async function trials(w: World, g: Guard, cap: Capture, n: number, knownPort: number | undefined): Promise<Trial[]> {
  const out: Trial[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await trial(w, g, cap, knownPort));
    await g.revokeAll(w);
    await sleep(100);
  }
  return out;
}

const procStat = (pid: number) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    // utime + stime + the same for reaped children (iptables, shells forked per grant)
    return { cpuTicks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]), rssKb: rss };
  } catch { return { cpuTicks: 0, rssKb: 0 }; }
};
/** Over each daemon pid and its live descendants (Tumbler's worker and long-lived nft, knockd's timers). */
const sum = (pids: number[], k: 'cpuTicks' | 'rssKb') =>
  [...new Set(pids.flatMap((p) => [p, ...World.descendants(p)]))].reduce((a, p) => a + procStat(p)[k], 0);
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * Grants the attacker holds: elements of Tumbler's own table naming it, plus iptables rules naming it
 * (iptables-save only: iptables-nft rules would otherwise be counted twice through `nft list ruleset`).
 */
function attackerGrants(w: World): number {
  const nft = spawnSync('ip', ['netns', 'exec', w.ns.srv, 'nft', 'list', 'table', 'inet', 'tumbler'], { encoding: 'utf8' }).stdout ?? '';
  const ipt = spawnSync('ip', ['netns', 'exec', w.ns.srv, 'iptables-save'], { encoding: 'utf8' }).stdout ?? '';
  return new Set((nft + ipt).split('\n').filter((l) => l.includes(ATTACKER_ADDR)).map((l) => l.trim())).size;
}

async function flood(w: World, g: Guard, cap: Capture, floodBin: string, kind: string, proto: 'tcp' | 'udp', first: number, last: number, knownPort: number | undefined): Promise<FloodRow> {
  const pids = g.pids(w);
  const rssBefore = sum(pids, 'rssKb');
  const cpu0 = sum(pids, 'cpuTicks');
  const done = floodOnce(w, floodBin, proto, first, last, FLOOD_SECONDS);
  await sleep(500);
  const during = await trials(w, g, cap, 10, knownPort);
  const { sent, seconds } = await done;
  const cpu1 = sum(pids, 'cpuTicks');
  await sleep(500);
  const ok = during.filter((t) => t.ok);
  return {
    kind, sent, seconds, ok: ok.length, latency: ok.map((t) => t.e2eMs!), attackerGrants: attackerGrants(w),
    cpuPerMillion: sent ? ((cpu1 - cpu0) / TICK) / (sent / 1e6) : 0, rssBefore, rssAfter: sum(pids, 'rssKb'),
  };
}

/** Tumbler only: paced floods at the knock range; pcap drops from the worker's own counters (SIGUSR1). */
async function inspectionRate(w: World, floodBin: string, g: Guard): Promise<Array<{ rate: number; sent: number; received: number; dropped: number }>> {
  const rows = [];
  const statsNow = async () => {
    const from = w.daemonLog.length;
    process.kill(w.workerPid()!, 'SIGUSR1');
    await w.waitForLog('"worker.stats"', 5000, from);
    const line = w.daemonLog.slice(from).split('\n').find((l) => l.includes('"worker.stats"'))!;
    return JSON.parse(line) as { pcap_received: number; pcap_dropped: number };
  };
  for (const rate of [25_000, 50_000, 100_000, 200_000, 0]) {
    const a = await statsNow();
    const r = await floodOnce(w, floodBin, 'tcp', g.target.first, g.target.last, 4, rate);
    await sleep(500);
    const b = await statsNow();
    rows.push({ rate, sent: r.sent, received: b.pcap_received - a.pcap_received, dropped: b.pcap_dropped - a.pcap_dropped });
  }
  return rows;
}

/** Tumbler only: N valid knocks from 100 client addresses at an offered rate; grants/s from the daemon's log. */
async function grantRate(w: World, n: number, offered: number): Promise<{ offered: number; sent: number; granted: number; seconds: number }> {
  const srcs = Array.from({ length: 100 }, (_, i) => `198.51.100.${100 + i}`);
  for (const a of srcs) spawnSync('ip', ['-n', w.ns.cli, 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
  const prefix = `r${offered}u`;
  const { devices } = seedDevices(w, n, prefix);
  await sleep(1500); // the worker sees the new devices (data_version poll) and rebuilds its filter
  const file = join(w.dir, 'rate.json');
  writeFileSync(file, JSON.stringify(devices.map((d, i) => ({ key: d.key.toString('hex'), ports: d.sequence.ports, tags: d.sequence.tags, src: srcs[i % srcs.length] }))));
  const from = w.daemonLog.length;
  const r = spawnSync('ip', ['netns', 'exec', w.ns.cli, process.execPath, '--import', 'tsx', join(REPO, 'bench/tools/valid-knocks.ts'), file, SERVER_ADDR, String(offered)], { encoding: 'utf8', cwd: REPO, timeout: 60_000 });
  const [, sent, start] = /sent (\d+) (\d+)/.exec(r.stdout) ?? [];
  const granted = () => w.daemonLog.slice(from).split('\n').filter((l) => l.includes('"grant.opened"') && l.includes(`"user":"${prefix}`));
  await until(() => granted().length >= n, 20_000, 200);
  const g = granted();
  const last = g.length ? Date.parse((JSON.parse(g[g.length - 1]!) as { ts: string }).ts) : Number(start);
  return { offered, sent: Number(sent ?? 0), granted: g.length, seconds: (last - Number(start)) / 1000 };
}

/** The issue's targets, each compared with what this run measured (nothing tuned to them). */
function targetRows(idle: Record<string, { server?: number; e2e?: number }>, floods: Record<string, Array<FloodRow & { idleMedian: number }>>,
  rates: Array<{ offered: number; sent: number; granted: number; seconds: number }>): Array<{ target: string; figure: string; met: boolean }> {
  const out: Array<{ target: string; figure: string; met: boolean }> = [];
  const t = idle['tumbler'];
  if (!t) return out;
  const ms = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(1)} ms`);
  out.push({ target: 'knock → grant, server side, median ≤ 5 ms', figure: ms(t.server), met: t.server !== undefined && t.server <= 5 });
  if (idle['knockd']) out.push({ target: 'end to end better than knockd', figure: `${ms(t.e2e)} vs ${ms(idle['knockd'].e2e)}`, met: (t.e2e ?? Infinity) < (idle['knockd'].e2e ?? 0) });
  if (idle['fwknop']) out.push({ target: 'end to end ≤ half of fwknop', figure: `${ms(t.e2e)} vs ${ms(idle['fwknop'].e2e)} / 2`, met: (t.e2e ?? Infinity) <= (idle['fwknop'].e2e ?? 0) / 2 });
  for (const f of floods['tumbler'] ?? []) {
    const med = stats(f.latency)?.median;
    out.push({ target: `flood (${f.kind}): 10/10 knocks`, figure: `${f.ok}/10`, met: f.ok === 10 });
    out.push({ target: `flood (${f.kind}): median ≤ 2× idle`, figure: med !== undefined ? `${(med / f.idleMedian).toFixed(2)}×` : 'n/a', met: med !== undefined && med <= 2 * f.idleMedian });
    out.push({ target: `flood (${f.kind}): attacker grants 0`, figure: String(f.attackerGrants), met: f.attackerGrants === 0 });
    const drift = f.rssBefore ? Math.abs(f.rssAfter - f.rssBefore) / f.rssBefore : NaN;
    out.push({ target: `flood (${f.kind}): RSS flat within 10%`, figure: `${(drift * 100).toFixed(1)}%`, met: drift <= 0.1 });
  }
  const sustained = rates.filter((r) => r.offered > 0 && r.granted === r.sent && r.seconds <= (r.sent / r.offered) * 1.1).map((r) => r.offered);
  if (rates.length) out.push({ target: 'valid grants sustained ≥ 1,000/s', figure: sustained.length ? `all granted, on time, at ${Math.max(...sustained).toLocaleString('en')}/s offered` : 'none kept up', met: Math.max(0, ...sustained) >= 1000 });
  return out;
}

/**
 * Node's bare start (`node -e 0`), measured exactly as the client commands are: through the same
 * driver, as the same account with the same environment (asClient), so the ratio compares like with like.
 */
/** Issue 13's targets: the client against Node's bare start and knockd, and tumblerd's memory. */
function clientTargetRows(idle: Record<string, { server?: number; e2e?: number }>, bareOf: Record<string, number[]>, fp: FootprintRun | undefined): Array<{ target: string; figure: string; met: boolean }> {
  const out: Array<{ target: string; figure: string; met: boolean }> = [];
  const ms = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(1)} ms`);
  for (const name of ['tumbler', 'tumbler (agent)']) {
    const e2e = idle[name]?.e2e;
    const bareMedian = stats(bareOf[name] ?? [])?.median;
    if (e2e === undefined || bareMedian === undefined) continue;
    out.push({ target: `\`tumbler open\`${name === 'tumbler' ? '' : ' through the agent'}: knock → reachable ≤ 1.2 × Node's bare start`,
      figure: `${ms(e2e)} = ${(e2e / bareMedian).toFixed(2)} × ${ms(bareMedian)}`, met: e2e <= 1.2 * bareMedian });
  }
  const conn = idle['tumbler-connect (agent)']?.e2e;
  const knockd = idle['knockd']?.e2e;
  if (conn !== undefined && knockd !== undefined) out.push({ target: 'ssh connector: knock → TCP connected ≤ knockd\'s knock → open', figure: `${ms(conn)} vs ${ms(knockd)}`, met: conn <= knockd });
  if (fp) {
    const last = fp.afterFloods.at(-1);
    out.push({ target: 'tumblerd RSS idle ≤ 90 MiB (monitor + worker + nft, summed)', figure: `${(fp.idle.rssKb / 1024).toFixed(1)} MiB (${(fp.idle.togetherKb / 1024).toFixed(1)} MiB counting shared pages once)`, met: fp.idle.rssKb / 1024 <= 90 });
    if (last) {
      const growth = (last.rssKb - fp.idle.rssKb) / fp.idle.rssKb;
      out.push({ target: `tumblerd RSS growth over three floods ≤ 5 %`, figure: `${(growth * 100).toFixed(1)} %`, met: growth <= 0.05 });
    }
  }
  return out;
}

function nodeBareStartMs(w: World, n = 20): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = spawnSync('ip', ['netns', 'exec', w.ns.cli, process.execPath, join(REPO, 'bench/tools/client-driver.mjs'), SERVER_ADDR,
      JSON.stringify([...asClient(w), process.execPath, '-e', '0']), '--exit-only'], { encoding: 'utf8', timeout: 20_000 });
    const d = JSON.parse(r.stdout.trim().split('\n').pop() || '{}') as { t0?: number; tExit?: number; code?: number };
    if (d.code === 0 && d.t0 && d.tExit) out.push(d.tExit - d.t0);
  }
  return out;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (network namespaces, nftables, pcap)');
  const factories: Record<string, () => Promise<Guard>> = {
    tumbler: async () => createTumblerGuard(100),
    'tumbler-agent': async () => createTumblerGuard(100, 'agent'),
    'tumbler-connect': async () => createTumblerGuard(100, 'connector'),
    'tumbler-100k': async () => createTumblerGuard(100_000),
    fwknop: async () => (await import('./guards/fwknop.js')).createFwknopGuard(),
    knockd: async () => (await import('./guards/knockd.js')).createKnockdGuard(),
  };
  const guards = await Promise.all(Object.entries(factories).filter(([n]) => !ONLY.length || ONLY.includes(n)).map(([, f]) => f()));
  ensurePackages([...new Set(guards.flatMap((g) => g.packages))]);
  const tmp = mkdtempSync(join(tmpdir(), 'tumbler-bench-'));
  const floodBin = buildFlooder(tmp);
  const lines: string[] = [];
  const say = (s = '') => { console.log(s); lines.push(s); };
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  say(`# Tumbler vs fwknop vs knockd — ${new Date().toISOString().slice(0, 10)}`);
  say();
  say(`Machine: ${cpus().length} × ${cpu}, node ${process.version}, Linux ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()}. `
    + `${TRIALS} idle trials per guard; floods ${FLOOD_SECONDS} s each, ≤ ${FLOOD_MAX_PACKETS.toLocaleString('en')} packets, from a raw-socket sender (bench/tools/flood.c).`);
  say();
  const idleRows: string[] = [];
  const floodRows: string[] = [];
  const scaleRows: string[] = [];
  const idleMed: Record<string, { server?: number; e2e?: number }> = {};
  const floodsOf: Record<string, Array<FloodRow & { idleMedian: number }>> = {};
  const bareOf: Record<string, number[]> = {};
  let footprintRun: FootprintRun | undefined;
  let inspect: Awaited<ReturnType<typeof inspectionRate>> = [];
  const rates: Array<Awaited<ReturnType<typeof grantRate>>> = [];
  try {
    for (const g of guards) {
      console.error(`bench: ${g.name}`);
      const w = World.create('b');
      let cap: Capture | undefined;
      try {
        await g.start(w);
        cap = await captureOn(w, CLIENT_ADDR);
        const isTumbler = g.name.startsWith('tumbler');
        const knownPort = isTumbler ? undefined : 22;
        if (isTumbler) bareOf[g.name] = nodeBareStartMs(w); // beside each client mode, in its own world, just before its trials
        const idle = await trials(w, g, cap, TRIALS, knownPort);
        const ok = idle.filter((t) => t.ok);
        const server = ok.map((t) => t.serverMs).filter((x): x is number => x !== undefined);
        idleRows.push(`| ${g.name} | ${ok.length}/${idle.length} | ${fmtStats(stats(server))} | ${fmtStats(stats(ok.map((t) => t.e2eMs!)))} |`);
        const idleMedian = stats(ok.map((t) => t.e2eMs!))?.median ?? NaN;
        idleMed[g.name] = { server: stats(server)?.median, e2e: stats(ok.map((t) => t.e2eMs!))?.median };
        if (g.name === 'tumbler' || g.name === 'tumbler-100k') scaleRows.push(`| ${g.name === 'tumbler' ? 100 : 100_000} | ${(g as { lookupUs?: number }).lookupUs?.toFixed(2) ?? 'n/a'} µs | ${fmtStats(stats(server))} | ${fmtStats(stats(ok.map((t) => t.e2eMs!)))} |`);
        if (g.name !== 'tumbler' && isTumbler) continue; // the scale and client-mode runs need only the idle trials
        if (g.name === 'tumbler') footprintRun = await measureFootprint(w, floodBin, undefined, 3, FOOTPRINT_SECONDS);
        for (const [kind, proto, first, last] of [['random ports', 'tcp', 1, 65535], ['aimed', g.target.proto, g.target.first, g.target.last]] as const) {
          const f = await flood(w, g, cap, floodBin, kind, proto, first, last, knownPort);
          (floodsOf[g.name] ??= []).push({ ...f, idleMedian });
          const med = stats(f.latency)?.median;
          floodRows.push(`| ${g.name} | ${kind === 'aimed' ? `aimed (${proto} ${first}${first === last ? '' : `-${last}`})` : kind} | ${f.sent.toLocaleString('en')} in ${f.seconds.toFixed(1)} s `
            + `| ${f.ok}/10 | ${fmtStats(stats(f.latency))} | ${med !== undefined ? (med / idleMedian).toFixed(2) + '×' : 'n/a'} | ${f.attackerGrants} `
            + `| ${f.cpuPerMillion.toFixed(2)} s | ${(f.rssBefore / 1024).toFixed(1)} → ${(f.rssAfter / 1024).toFixed(1)} MiB |`);
        }
        if (g.name === 'tumbler') {
          inspect = await inspectionRate(w, floodBin, g);
          for (const offered of [500, 1000, 2000, 0]) rates.push(await grantRate(w, 2000, offered));
        }
      } finally {
        cap?.stop();
        await g.stop(w).catch(() => undefined);
        w.destroy();
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  say('## 1–2. Knock → grant (server side) and end to end, idle (ms: median, p90, min–max)');
  say();
  say('| guard | ok | knock → grant, server side | end to end (command start → connect) |');
  say('|---|---:|---|---|');
  for (const r of idleRows) say(r);
  say();
  say('Node\'s bare start (`node -e 0` in the client namespace, started by the same driver as the client commands, as the same account with the same environment), '
    + 'measured in each Tumbler world just before its trials:');
  say();
  for (const [name, xs] of Object.entries(bareOf)) say(`- beside ${name}: ${fmtStats(stats(xs))} ms`);
  say();
  say('Tumbler\'s client is a Node program; fwknop, knock and tumbler-connect are C. "tumbler (agent)": `tumbler open` answered by a running `tumbler agent` holding the key; '
    + '"tumbler-connect (agent)": the ssh connector (ProxyUseFdpass) asks the agent, then connects to the granted port itself.');
  say();
  if (floodRows.length) {
    say('## 3. Floods from the attacker namespace, 10 legitimate knocks during each');
    say();
    say('| guard | flood | packets sent | knocks ok | latency during (ms) | median vs idle | attacker grants | daemon CPU per 10⁶ packets | daemon RSS before → after |');
    say('|---|---|---:|---:|---|---:|---:|---:|---|');
    for (const r of floodRows) say(r);
  }
  if (inspect.length) {
    say();
    say('## 4. Tumbler worker: junk SYNs aimed at the knock range, paced (4 s each); pcap\'s own counters');
    say();
    say('| offered rate | sent | pcap received | pcap dropped |');
    say('|---:|---:|---:|---:|');
    for (const r of inspect) say(`| ${r.rate ? `${r.rate.toLocaleString('en')}/s` : 'max'} | ${r.sent.toLocaleString('en')} | ${r.received.toLocaleString('en')} | ${r.dropped.toLocaleString('en')} |`);
  }
  if (rates.length) {
    say();
    say('## 4b. Tumbler: valid grants sustained (2,000 knocks per row from 100 client addresses; each grant a durable SQLite transaction, an nftables element and a sealed reply)');
    say();
    say('| offered knocks/s | granted | first knock → last grant | grants/s |');
    say('|---:|---:|---:|---:|');
    for (const r of rates) say(`| ${r.offered ? r.offered.toLocaleString('en') : 'back to back'} | ${r.granted.toLocaleString('en')} / ${r.sent.toLocaleString('en')} | ${r.seconds.toFixed(2)} s | ${r.seconds > 0 ? Math.round(r.granted / r.seconds).toLocaleString('en') : 'n/a'} |`);
  }
  if (scaleRows.length) {
    say();
    say('## 5. Scale: Tumbler with 100 and with 100,000 enrolled devices (idle trials)');
    say();
    say('| devices | sequence lookup (store.findByKey, mean of 10,000) | knock → grant, server side (ms) | end to end (ms) |');
    say('|---:|---:|---|---|');
    for (const r of scaleRows) say(r);
  }
  if (footprintRun) {
    say();
    say(`## 6. tumblerd's memory: monitor + worker + nft session, idle and after each of three ${FOOTPRINT_SECONDS} s floods at the knock range`);
    say();
    for (const r of footprintRows(footprintRun)) say(r);
  }
  const targets = [...clientTargetRows(idleMed, bareOf, footprintRun), ...targetRows(idleMed, floodsOf, rates)];
  if (targets.length) {
    say();
    say('## Targets (issues 7 and 13), met or missed');
    say();
    say('| target | figure | met |');
    say('|---|---|:---:|');
    for (const t of targets) say(`| ${t.target} | ${t.figure} | ${t.met ? 'yes' : '**missed**'} |`);
  }
  if (!ONLY.length) writeFileSync(join(REPO, 'bench/results/compare.md'), lines.join('\n') + '\n');
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });

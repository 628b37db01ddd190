/**
 * Live demo, narrated: the real tumblerd, nftables, libpcap, OpenSSH and the tumbler client (as an
 * unprivileged user through the setuid helper) in network namespaces that it creates and deletes.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ATTACKER_ADDR, CLIENT_ADDR, REPO, SERVER_ADDR, World } from '../test/e2e/world.js';
import { heading } from './narrate.js';

const say = (s: string) => process.stdout.write(heading(s));
const show = (label: string, v: string) => process.stdout.write(`  ${label}: ${v}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run the demo as root (it creates network namespaces)');
  say('Building the world: server 198.51.100.1 (tumblerd, sshd), client .2, attacker .3, internal host 203.0.113.2');
  const w = World.create('d');
  const cleanup = () => w.destroy();
  process.on('SIGINT', () => { cleanup(); process.exit(130); });
  try {
    say('Enrolling user "alice" on the server (scrypt-derived key; the bundle carries no secret) and on her laptop');
    const profile = w.enroll('alice');
    show('client profile', profile);
    say('Starting tumblerd: privileged nftables monitor + packet worker dropped to the "tumbler" user');
    await w.startDaemon();
    const wpid = w.workerPid();
    if (wpid) {
      const st = spawnSync('grep', ['-E', '^(Uid|CapEff)', `/proc/${wpid}/status`], { encoding: 'utf8' }).stdout.trim().replace(/\s+/g, ' ');
      show('worker', `pid ${wpid}: ${st}`);
    }
    say('Before any knock, the server is silent: ssh port, knock ports and forward ports time out (no RST)');
    for (const port of [22, 40123, 50123]) show(`client → ${SERVER_ADDR}:${port}`, w.probe(w.ns.cli, SERVER_ADDR, port));
    say('alice runs plain `ssh` with `ProxyCommand tumbler proxy` — it knocks, gets a port, logs in');
    const r = w.ssh(w.ns.cli, { profile, host: 'work', command: 'echo "hello from $(hostname -s 2>/dev/null || echo server), logged in via $SSH_CONNECTION"' });
    show('ssh exit', String(r.code));
    show('ssh said', r.stdout.trim() || r.stderr.trim());
    say('alice asks for a port explicitly (`tumbler open --json`)');
    const o = w.client(['open', profile, '--json']);
    show('tumbler open', o.stdout.trim() || o.stderr.trim());
    const port = o.code === 0 ? (JSON.parse(o.stdout) as { port: number }).port : 0;
    if (port) {
      say(`The granted port ${port} is open for ${CLIENT_ADDR} only`);
      show(`client   → :${port}`, w.probe(w.ns.cli, SERVER_ADDR, port));
      show(`attacker → :${port}`, w.probe(w.ns.atk, SERVER_ADDR, port));
    }
    say('The attacker replays a knock it saw, from its own address — nothing opens');
    const cap = join(w.dir, 'demo.pcap');
    const td = w.spawnTracked('ip', ['netns', 'exec', w.ns.srv, 'tcpdump', '-U', '-n', '-i', 'eth0', '-w', cap, 'tcp[13] == 2 and dst portrange 40000-40999']);
    await sleep(700);
    const o2 = w.client(['open', profile, '--json']);
    await sleep(300);
    td.kill('SIGTERM');
    await sleep(300);
    const { readSyns } = await import('../test/e2e/tools/pcap-file.js');
    const syns = readSyns(cap).slice(0, 3);
    show('captured knock', `${syns.length} SYNs to ports ${syns.map((s) => s.dstPort).join(', ')} (client got: ${o2.code === 0 ? 'a grant' : 'nothing'})`);
    const before = w.grantCount();
    spawnSync('ip', ['netns', 'exec', w.ns.atk, process.execPath, '--import', 'tsx', join(REPO, 'test/e2e/tools/send-syns.ts'),
      '--src', ATTACKER_ADDR, '--dst', SERVER_ADDR, '--packets', syns.map((s) => `${s.dstPort}:${s.isn}`).join(',')], { cwd: REPO });
    await sleep(500);
    const after = w.grantCount();
    show('kernel grants before / after the replay', `${before} / ${after}`);
    say('The kernel map holding the grants (each element expires by itself)');
    process.stdout.write(w.nft(['list', 'map', 'inet', 'tumbler', 'grants4']).stdout.replace(/^/gm, '    '));
    say('Revoking alice on the running daemon: her next knock gets silence');
    show('tumblerd user revoke', String(w.admin(['user', 'revoke', 'alice', '--close-grants']).code));
    await sleep(1000);
    const o3 = w.client(['open', profile, '--timeout', '300']);
    show('tumbler open exit code', `${o3.code} (5 = no reply)`);
    say('Done. Cleaning up namespaces and processes.');
  } finally {
    cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${(e as Error).message}\n`);
  process.exit(1);
});

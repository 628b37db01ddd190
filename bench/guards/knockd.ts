/**
 * knockd (classic static port knocking) as a benchmark guard: Debian's knockd sniffing the server's
 * eth0 with libpcap for the TCP SYN sequence 7000,8000,9000 (seq_timeout 5). A full sequence runs
 * start_command, which inserts an ACCEPT for the knocker's address to sshd into our KNOCKD_SSH
 * chain (ahead of the default drop); cmd_timeout 30 + stop_command take it out again, the same
 * 30 s lifetime fwknop grants have. Config and log live under w.dir.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVER_ADDR, World } from '../../test/e2e/world.js';
import type { Guard } from './guard.js';
import { DROP_CHAIN, addChain, addDefaultDrop, ipt, removeChain, stopByPid, tailOf, waitForOutput, waitUntilKnockOpens } from './rivals.js';

const SEQUENCE = [7000, 8000, 9000];
const CHAIN = 'KNOCKD_SSH';

export function createKnockdGuard(): Guard {
  let daemon: ChildProcess | undefined;
  let log = () => '';
  const confPath = (w: World) => join(w.dir, 'knockd.conf');
  const logPath = (w: World) => join(w.dir, 'knockd.log');

  function writeConfig(w: World): void {
    const rule = `${CHAIN} -s %IP% -d ${SERVER_ADDR} -p tcp --dport 22 -j ACCEPT`;
    writeFileSync(confPath(w), [
      '[options]',
      `  LogFile = ${logPath(w)}`, // not syslog: nothing leaves the World
      '[openSSH]',
      `  sequence      = ${SEQUENCE.join(',')}`,
      '  seq_timeout   = 5',
      '  tcpflags      = syn',
      // knockd runs these itself (as root, in the server namespace it was started in).
      `  start_command = /usr/sbin/iptables -w 5 -I ${rule}`,
      '  cmd_timeout   = 30',
      `  stop_command  = /usr/sbin/iptables -w 5 -D ${rule}`,
      '',
    ].join('\n'), { mode: 0o600 });
  }

  const guard: Guard = {
    name: 'knockd',
    packages: ['knockd'],
    target: { proto: 'tcp', first: SEQUENCE[0]!, last: SEQUENCE.at(-1)! },
    async start(w) {
      writeConfig(w);
      addChain(w, CHAIN, []); // before the drop chain in INPUT, so its ACCEPTs win
      addDefaultDrop(w);
      // No -d: knockd stays in the foreground, so the spawned pid is knockd itself.
      daemon = w.spawnTracked('ip', ['netns', 'exec', w.ns.srv, 'knockd', '-c', confPath(w), '-i', 'eth0'], { stdio: 'pipe' });
      log = tailOf(daemon);
      try {
        // knockd logs "starting up, listening on eth0" once its pcap handle and filter are set
        // (stdout says so only with -v, which would also print every knock hit under a flood).
        const logged = () => { try { return readFileSync(logPath(w), 'utf8'); } catch { return ''; } };
        await waitForOutput(logged, 'listening on eth0', daemon);
        await waitUntilKnockOpens(w, guard.knockArgv(w), daemon);
      } catch (e) {
        throw new Error(`knockd not ready: ${(e as Error).message}\n${log()}`);
      }
      await guard.revokeAll(w);
    },
    knockArgv: () => ['knock', SERVER_ADDR, ...SEQUENCE.map(String)],
    portAfter: () => 22,
    pids: () => (daemon?.pid ? [daemon.pid] : []),
    async revokeAll(w) {
      ipt(w, ['-F', CHAIN]); // a later stop_command then fails harmlessly (rule already gone)
    },
    async stop(w) {
      // Each grant forks a child that sleeps cmd_timeout before stop_command, and knockd waits for
      // them on SIGTERM: kill those timers (by PID) first, or stop takes up to 30 s.
      if (daemon?.pid) for (const pid of World.descendants(daemon.pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await stopByPid(daemon);
      daemon = undefined;
      removeChain(w, CHAIN);
      removeChain(w, DROP_CHAIN);
    },
  };
  return guard;
}

/**
 * fwknop (Single Packet Authorization) as a benchmark guard: Debian's fwknopd sniffing UDP 62201
 * with libpcap on the server's eth0, Rijndael + HMAC-SHA256 keys, opening tcp/22 for the SPA's
 * source only (FW_ACCESS_TIMEOUT 30) in its own FWKNOP_INPUT chain, ahead of our default drop.
 * Every file (config, access, run dir, pid, digest cache, client rc) lives under w.dir.
 */
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_ADDR, SERVER_ADDR, type World } from '../../test/e2e/world.js';
import type { Guard } from './guard.js';
import { DROP_CHAIN, addDefaultDrop, ipt, removeChain, stopByPid, tailOf, waitForOutput, waitUntilKnockOpens } from './rivals.js';

const SPA_PORT = 62201;
const CHAIN = 'FWKNOP_INPUT'; // fwknopd's own chain (IPT_INPUT_ACCESS below), jumped to from INPUT rule 1

export function createFwknopGuard(): Guard {
  let daemon: ChildProcess | undefined;
  let log = () => '';
  const paths = (w: World) => ({ conf: join(w.dir, 'fwknopd.conf'), access: join(w.dir, 'fwknop-access.conf'), rc: join(w.dir, 'fwknoprc'), run: join(w.dir, 'fwknop') });

  function writeConfig(w: World): void {
    const p = paths(w);
    mkdirSync(p.run, { mode: 0o700 });
    // Fresh random keys per World: 32-byte Rijndael key, 64-byte HMAC-SHA256 key (as --key-gen makes).
    const key = randomBytes(32).toString('base64');
    const hmac = randomBytes(64).toString('base64');
    // Debian's defaults otherwise (PCAP_LOOP_SLEEP 100 ms, packet aging 120 s, digest persistence).
    writeFileSync(p.conf, [
      'PCAP_INTF eth0;', `PCAP_FILTER udp port ${SPA_PORT};`, 'ENABLE_PCAP_PROMISC N;',
      `FWKNOP_RUN_DIR ${p.run};`, `FWKNOP_PID_FILE ${join(p.run, 'fwknopd.pid')};`,
      `DIGEST_FILE ${join(p.run, 'digest.cache')};`,
      `IPT_INPUT_ACCESS ACCEPT, filter, INPUT, 1, ${CHAIN}, 1;`, 'FLUSH_IPT_AT_INIT Y;', 'FLUSH_IPT_AT_EXIT Y;', '',
    ].join('\n'), { mode: 0o600 });
    writeFileSync(p.access, [
      'SOURCE ANY', 'OPEN_PORTS tcp/22', 'REQUIRE_SOURCE_ADDRESS Y', 'FW_ACCESS_TIMEOUT 30',
      `KEY_BASE64 ${key}`, `HMAC_KEY_BASE64 ${hmac}`, '',
    ].join('\n'), { mode: 0o600 });
    // Client side: the same keys in an rc file; USE_HMAC with both keys given means no prompt ever.
    writeFileSync(p.rc, ['[default]', `KEY_BASE64 ${key}`, `HMAC_KEY_BASE64 ${hmac}`, 'USE_HMAC Y', ''].join('\n'), { mode: 0o600 });
  }

  const guard: Guard = {
    name: 'fwknop',
    packages: ['fwknop-server', 'fwknop-client'],
    target: { proto: 'udp', first: SPA_PORT, last: SPA_PORT },
    async start(w) {
      writeConfig(w);
      addDefaultDrop(w);
      const p = paths(w);
      // -f: stay in the foreground so the spawned pid is fwknopd itself (ip netns exec execs it).
      daemon = w.spawnTracked('ip', ['netns', 'exec', w.ns.srv, 'fwknopd', '-f', '-c', p.conf, '-a', p.access,
        '-d', join(p.run, 'digest.cache'), '-p', join(p.run, 'fwknopd.pid'), '-r', p.run, '-i', 'eth0'], { stdio: 'pipe' });
      log = tailOf(daemon);
      try {
        // Printed after pcap_open_live + filter: capturing. Then a real SPA proves the iptables path.
        await waitForOutput(log, 'Starting fwknopd main event loop', daemon);
        await waitUntilKnockOpens(w, guard.knockArgv(w), daemon);
      } catch (e) {
        throw new Error(`fwknopd not ready: ${(e as Error).message}\n${log()}`);
      }
      await guard.revokeAll(w);
    },
    knockArgv(w) {
      // --rc-file instead of ~/.fwknoprc; --no-save-args: never write ~/.fwknop.run.
      return ['fwknop', '--rc-file', paths(w).rc, '--no-save-args',
        '-A', 'tcp/22', '-a', CLIENT_ADDR, '-D', SERVER_ADDR];
    },
    portAfter: () => 22,
    pids: () => (daemon?.pid ? [daemon.pid] : []),
    async revokeAll(w) {
      // Flushing fwknopd's chain keeps the chain and its INPUT jump; fwknopd re-adds rules on the
      // next SPA (it checks with iptables -C first) and its expiry pass tolerates missing rules.
      ipt(w, ['-F', CHAIN]);
    },
    async stop(w) {
      await stopByPid(daemon); // SIGTERM: fwknopd flushes and deletes its chains (FLUSH_IPT_AT_EXIT)
      daemon = undefined;
      removeChain(w, CHAIN); // in case it was killed before it could
      removeChain(w, DROP_CHAIN);
    },
  };
  return guard;
}

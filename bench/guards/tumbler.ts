/**
 * Tumbler as a benchmark guard: the real tumblerd (monitor + unprivileged worker) in the World's
 * server namespace, and the real client as the unprivileged user through the setuid helper, run
 * three ways (issue 13): `tumbler open` knocking itself (no agent); `tumbler open` asking a running
 * `tumbler agent` that holds the key (kept off disk, unlocked once); and the ssh connector
 * `tumbler-connect`, which asks the agent and connects to the granted port itself (no Node started).
 */
import { CLIENT_BIN, CONNECTOR_BIN, KNOCK_RANGE, type World } from '../../test/e2e/world.js';
import { until } from '../../test/helpers/until.js';
import { seedDevices } from '../lib/seed.js';
import type { Guard } from './guard.js';

export type TumblerClientMode = 'direct' | 'agent' | 'connector';

const NAMES: Record<TumblerClientMode, string> = { direct: 'tumbler', agent: 'tumbler (agent)', connector: 'tumbler-connect (agent)' };

/** argv prefix that runs a command as the client user with only the client's environment (as a login would). */
export function asClient(w: World): string[] {
  const u = w.clientIds();
  const env = Object.entries(w.clientEnv()).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
  return ['setpriv', `--reuid=${u.uid}`, `--regid=${u.gid}`, '--init-groups', '--', 'env', '-i', ...env];
}

/** `devices`: how many devices are enrolled in all (alice's laptop plus bulk ones), for the scale figure. */
export function createTumblerGuard(devices = 100, mode: TumblerClientMode = 'direct'): Guard & { lookupUs?: number } {
  let profile = '';
  return {
    name: devices === 100 ? NAMES[mode] : `tumbler-${devices / 1000}k`,
    lookupUs: undefined as number | undefined,
    packages: [],
    target: { proto: 'tcp', first: KNOCK_RANGE.first, last: KNOCK_RANGE.last },
    connects: mode === 'connector',
    async start(w) {
      w.writeConfig({ ttl: 30 });
      profile = w.enroll('alice', mode === 'direct' ? {} : { clientArgs: ['--no-store-key'] });
      this.lookupUs = seedDevices(w, devices - 1).lookupUs;
      await w.startDaemon();
      if (mode === 'direct') return;
      // The agent, as the client user in the client namespace, with the key unlocked once.
      const agent = w.spawnTracked('ip', w.clientArgv(['agent']), { stdio: 'pipe', env: w.clientEnv() });
      let log = '';
      agent.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      await until(() => log.includes('listening'), 30_000, 25);
      const u = w.client(['unlock', profile, '--password-file', w.clientPasswordFile]);
      if (u.code !== 0) throw new Error(`unlock: ${u.stderr} ${log}`);
    },
    knockArgv(w) {
      if (mode === 'connector') return [...asClient(w), CONNECTOR_BIN, '--no-unlock', profile, 'ssh'];
      return [...asClient(w), process.execPath, CLIENT_BIN, 'open', profile, '--json'];
    },
    portAfter: (_w, stdout) => (JSON.parse(stdout) as { port: number }).port,
    pids(w) {
      return [w.daemon?.pid, w.workerPid()].filter((p): p is number => typeof p === 'number');
    },
    // Every grant is a fresh random port for one source: nothing carries over between trials.
    async revokeAll() {},
    async stop(w) {
      await w.stopDaemon('SIGTERM');
    },
  };
}

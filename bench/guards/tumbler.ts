/**
 * Tumbler as a benchmark guard: the real tumblerd (monitor + unprivileged worker) in the World's
 * server namespace, and the real client as the unprivileged user through the setuid helper.
 */
import { CLIENT_BIN, KNOCK_RANGE } from '../../test/e2e/world.js';
import { seedDevices } from '../lib/seed.js';
import type { Guard } from './guard.js';

/** `devices`: how many devices are enrolled in all (alice's laptop plus bulk ones), for the scale figure. */
export function createTumblerGuard(devices = 100): Guard & { lookupUs?: number } {
  let profile = '';
  return {
    name: devices === 100 ? 'tumbler' : `tumbler-${devices / 1000}k`,
    lookupUs: undefined as number | undefined,
    packages: [],
    target: { proto: 'tcp', first: KNOCK_RANGE.first, last: KNOCK_RANGE.last },
    async start(w) {
      w.writeConfig({ ttl: 30 });
      profile = w.enroll('alice');
      this.lookupUs = seedDevices(w, devices - 1).lookupUs;
      await w.startDaemon();
    },
    knockArgv(w) {
      const u = w.clientIds();
      const env = Object.entries(w.clientEnv()).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
      return ['setpriv', `--reuid=${u.uid}`, `--regid=${u.gid}`, '--init-groups', '--', 'env', '-i', ...env,
        process.execPath, CLIENT_BIN, 'open', profile, '--json'];
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

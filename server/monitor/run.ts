/**
 * `tumblerd run`: the privileged monitor's start-up. Loads the config, prepares the state
 * directory for the worker's user, installs the firewall table, starts and supervises the worker.
 */
import { chownSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { TumblerError } from '../../shared/errors.js';
import type { TumblerConfig } from '../config/types.js';
import { createLogger } from '../log.js';
import { createFirewall } from './firewall/backend.js';
import { Supervisor } from './supervisor.js';

function accountOf(user: string): { uid: number; gid: number } {
  const r = spawnSync('getent', ['passwd', user], { encoding: 'utf8' });
  const f = r.status === 0 ? r.stdout.trim().split(':') : [];
  if (f.length < 4) throw new TumblerError('RUN_NO_USER', `worker user "${user}" does not exist (useradd --system --no-create-home ${user})`);
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export const DEFAULT_PID_FILE = '/run/tumbler/tumblerd.pid';

export async function runDaemon(config: TumblerConfig, pidFile = DEFAULT_PID_FILE): Promise<void> {
  if (process.getuid?.() !== 0) throw new TumblerError('RUN_NOT_ROOT', 'tumblerd run must start as root (it drops to the worker user itself)');
  const log = createLogger({ format: config.logFormat, component: 'monitor', perSec: 20 });
  const account = accountOf(config.user);
  // The worker opens the database after its drop: its directory must be its own.
  const dir = dirname(config.database);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, account.uid, account.gid);
  }
  const firewall = createFirewall(config);
  await firewall.install();
  log.log('info', 'monitor.started', { firewall: config.firewall, pid: process.pid });
  mkdirSync(dirname(pidFile), { recursive: true, mode: 0o755 });
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o644 });
  const supervisor = new Supervisor({ config, firewall, log });
  supervisor.start();
  const stop = async (signal: string): Promise<void> => {
    log.log('info', 'monitor.stopping', { signal });
    await supervisor.stop();
    await firewall.dispose();
    rmSync(pidFile, { force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

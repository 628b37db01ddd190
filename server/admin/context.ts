/**
 * What an admin command works with: the parsed config and the opened store, loaded lazily (the
 * `run` path must not load a store) and always closed afterwards.
 */
import { ACCOUNT_NAME } from '../config/limits.js';
import type { TumblerConfig } from '../config/types.js';
import type { AdminDatabase } from './database.js';

export interface AdminContext {
  readonly cfg: TumblerConfig;
  readonly data: AdminDatabase;
  readonly now: () => number;
}

export async function loadAdminConfig(configPath: string): Promise<TumblerConfig> {
  const { loadConfig } = await import('../config/parse.js');
  return loadConfig(configPath);
}

export async function withStore<T>(configPath: string, fn: (ctx: AdminContext) => Promise<T> | T): Promise<T> {
  const cfg = await loadAdminConfig(configPath);
  const { openAdminDatabase } = await import('./database.js');
  const now = Date.now;
  const data = await openAdminDatabase(cfg, now);
  try {
    return await fn({ cfg, data, now });
  } finally {
    await data.close();
  }
}

/** Who ran the command, for the audit trail (the sudo caller when there is one). */
export function operator(): string {
  const sudo = process.env.SUDO_USER;
  return sudo && ACCOUNT_NAME.test(sudo) ? `${sudo} (sudo)` : (process.getuid?.() === 0 ? 'root' : `uid ${process.getuid?.()}`);
}

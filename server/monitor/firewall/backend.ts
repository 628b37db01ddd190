/**
 * Entry point of the firewall backends: the contract (types.ts) and the factory that picks the
 * backend named by `cfg.firewall`. Imports nothing that parses packets or touches SQLite.
 */
import type { TumblerConfig } from '../../config/types.js';
import { IptablesBackend } from './iptables.js';
import { NftablesBackend } from './nftables.js';
import type { FirewallBackend, FirewallOptions } from './types.js';

export type { DriftItem, DriftKind, FirewallBackend, FirewallOptions, Grant, GrantKey, KernelGrant, OpenOutcome } from './types.js';
export { DEFAULT_TABLE, NO_EXPIRY } from './types.js';

export function createFirewall(cfg: TumblerConfig, opts: FirewallOptions = {}): FirewallBackend {
  return cfg.firewall === 'iptables' ? new IptablesBackend(cfg, opts) : new NftablesBackend(cfg, opts);
}

/**
 * The firewall backend contract used by the privileged monitor (and the admin CLI as root).
 * A grant is a per-source DNAT from a forward port to a service target, with a timeout the
 * KERNEL enforces: it lapses even when every tumblerd process is dead.
 */
import type { TumblerError } from '../../../shared/errors.js';
import type { GrantKey } from '../../../shared/ipc/messages.js';
import type { IpFamily } from '../../../shared/net/address.js';

export type { GrantKey };

export interface Grant extends GrantKey {
  readonly service: string; // a configured service name; its target of `family` is the DNAT destination
  readonly ttlSec: number; // whole seconds, 1..cfg.maxTtlSec
}

export interface KernelGrant extends GrantKey {
  readonly service: string | null; // null when the kernel entry does not say (foreign or damaged entry)
  readonly expiresInSec: number; // NO_EXPIRY for an entry without a timeout (never one of ours)
}

/** Our nft table's name, and the prefix of our iptables chains and ipsets, unless told otherwise. */
export const DEFAULT_TABLE = 'tumbler';

/** expiresInSec of a kernel entry that has no timeout and would never lapse. */
export const NO_EXPIRY = 0xffffffff;

/**
 * What another tool can take away from us: our nft table, one of its chains, maps or the rules of
 * a chain; for iptables our chains, their rules, the jumps to them from the built-in chains, and
 * our ipsets.
 */
export type DriftKind = 'table' | 'chain' | 'map' | 'rule' | 'jump' | 'ipset';

/** One piece of our firewall state found missing or altered since our last install. */
export interface DriftItem {
  readonly kind: DriftKind;
  readonly name: string; // e.g. "input", "nat TUMBLER-PRE", "tumbler-1-4"
}

/** Per grant of an openMany call, in order: null when it is in the kernel, else why not. */
export type OpenOutcome = TumblerError | null;

export interface FirewallBackend {
  /**
   * Create our table/chains/maps when absent and (re)write our rules from the config. Idempotent;
   * never drops grants, except with `fresh`: everything of ours is replaced (the caller re-adds
   * grants), for state another tool altered so that it cannot be updated in place.
   */
  install(opts?: { fresh?: boolean }): Promise<void>;
  /** Add a grant, or refresh it (new timeout and target) when the key exists. */
  open(g: Grant): Promise<void>;
  /**
   * Several grants at once: one transaction (nft) or one write (ipset) when all succeed, else one
   * by one. Outcomes in the order of `grants`.
   */
  openMany(grants: readonly Grant[]): Promise<OpenOutcome[]>;
  /** Remove a grant now. False when it was not there (not an error). */
  close(family: IpFamily, address: string, port: number): Promise<boolean>;
  /** Grants the kernel holds now. */
  list(): Promise<KernelGrant[]>;
  /** Remove every grant not in `keep`; the number removed. */
  reconcile(keep: ReadonlyArray<GrantKey>): Promise<number>;
  /**
   * What of the state written by this object's last install() is missing or altered now (empty:
   * intact). FIREWALL_NOT_INSTALLED before the first install().
   */
  inspect(): Promise<DriftItem[]>;
  /** Whether grant `g` lived in a container (map, ipset, table) that `drift` reports lost. */
  lostWith(drift: readonly DriftItem[], g: Grant): boolean;
  /** Remove everything this backend installed (our table or chains and sets), grants included. */
  uninstall(): Promise<void>;
  /** End long-lived helper processes. Grants stay in the kernel and run out by themselves. */
  dispose(): Promise<void>;
}

export interface FirewallOptions {
  /** Name of our objects: the nft table (default DEFAULT_TABLE); for iptables the chain/ipset prefix. */
  readonly table?: string;
  /**
   * argv prefix for every firewall command, e.g. ['ip', 'netns', 'exec', 'NS'] in tests.
   * Production leaves it empty: the monitor runs in the host's namespace.
   */
  readonly commandPrefix?: readonly string[];
  /** Time limit for one firewall command, ms (default 10 000). */
  readonly commandTimeoutMs?: number;
}

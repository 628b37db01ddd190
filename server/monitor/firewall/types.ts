/**
 * The firewall backend contract used by the privileged monitor (and the admin CLI as root).
 * A grant is a per-source DNAT from a forward port to a service target, with a timeout the
 * KERNEL enforces: it lapses even when every tumblerd process is dead.
 */
export type Family = 4 | 6;

/** Identifies a grant in the kernel: the client's address and the forward port it was given. */
export interface GrantKey {
  readonly family: Family;
  readonly address: string;
  readonly port: number;
}

export interface Grant extends GrantKey {
  readonly service: string; // a configured service name; its target of `family` is the DNAT destination
  readonly ttlSec: number; // whole seconds, 1..cfg.maxTtlSec
}

export interface KernelGrant extends GrantKey {
  readonly service: string | null; // null when the kernel entry does not say (foreign or damaged entry)
  readonly expiresInSec: number; // NO_EXPIRY for an entry without a timeout (never one of ours)
}

/** expiresInSec of a kernel entry that has no timeout and would never lapse. */
export const NO_EXPIRY = 0xffffffff;

export interface FirewallBackend {
  /** Create our table/chains/maps when absent and (re)write our rules from the config. Idempotent; never drops grants. */
  install(): Promise<void>;
  /** Add a grant, or refresh it (new timeout and target) when the key exists. */
  open(g: Grant): Promise<void>;
  /** Remove a grant now. False when it was not there (not an error). */
  close(family: Family, address: string, port: number): Promise<boolean>;
  /** Grants the kernel holds now. */
  list(): Promise<KernelGrant[]>;
  /** Remove every grant not in `keep`; the number removed. */
  reconcile(keep: ReadonlyArray<GrantKey>): Promise<number>;
  /** Remove everything this backend installed (our table or chains and sets), grants included. */
  uninstall(): Promise<void>;
  /** End long-lived helper processes. Grants stay in the kernel and run out by themselves. */
  dispose(): Promise<void>;
}

export interface FirewallOptions {
  /** Name of our objects: the nft table (default "tumbler"); for iptables the chain/ipset prefix. */
  readonly table?: string;
  /**
   * argv prefix for every firewall command, e.g. ['ip', 'netns', 'exec', 'NS'] in tests.
   * Production leaves it empty: the monitor runs in the host's namespace.
   */
  readonly commandPrefix?: readonly string[];
  /** Time limit for one firewall command, ms (default 10 000). */
  readonly commandTimeoutMs?: number;
}

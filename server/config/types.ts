/** Typed, validated tumblerd configuration (the product of server/config/parse.ts). */

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

export interface ServiceTarget {
  readonly host: string; // a unicast, non-loopback address literal in canonical text, never a name
  readonly port: number;
}

export interface ServiceConfig {
  readonly name: string; // [a-z][a-z0-9_-]{0,31}
  readonly id: number; // 1..63, carried in the knock declaration
  readonly target4?: ServiceTarget; // IPv4 target (this host's address or an internal host)
  readonly target6?: ServiceTarget; // IPv6 target
}

export type FirewallBackend = 'nftables' | 'iptables';
export type StoreBackend = 'sqlite' | 'postgres';

/** Where the state lives: one SQLite file (one host) or one PostgreSQL database (a fleet). */
export type StoreConfig =
  | { readonly backend: 'sqlite'; readonly path: string }
  | { readonly backend: 'postgres'; readonly url: string; readonly passwordFile?: string };

export interface FleetConfig {
  /** This gateway's name: recorded on its grants and audit rows. */
  readonly gateway: string;
  /** The fleet's gateways, each a list of its knock addresses (what enrollment bundles list). */
  readonly gateways: readonly (readonly string[])[];
}
export type LogFormat = 'json' | 'text';

/** Where the metrics exporter listens: a loopback TCP address or a Unix socket path. */
export type MetricsListen =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

export interface MetricsConfig {
  readonly listen: MetricsListen;
  /** The unprivileged account the exporter runs as (default "nobody"). */
  readonly user: string;
}

export interface TumblerConfig {
  readonly file: string; // absolute path of the file it came from
  readonly interfaces: readonly string[];
  readonly addresses: readonly string[]; // this server's addresses that knocks are sent to (canonical text)
  readonly user: string; // unprivileged account the worker drops to
  readonly store: StoreConfig;
  readonly fleet: FleetConfig;
  readonly logFormat: LogFormat;
  readonly firewall: FirewallBackend;
  readonly knockPorts: PortRange;
  readonly timestampWindowSec: number; // accepted |server time - knock time|
  readonly graceSec: number; // identical retransmit re-sends the same reply within this
  readonly forwardPorts: PortRange;
  readonly defaultTtlSec: number;
  readonly maxTtlSec: number;
  readonly breakGlass: readonly string[]; // CIDRs always allowed to the service ports, canonical "addr/prefix"
  readonly services: readonly ServiceConfig[];
  /** The Prometheus exporter ([metrics]); absent when metrics are off (the default). */
  readonly metrics?: MetricsConfig;
}

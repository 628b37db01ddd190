/**
 * The tables of tumblerd.toml: [server], [knock], [grant], [services.<name>], [store], [fleet]
 * ([metrics]: metrics.ts).
 * Each reader lists its allowed keys (the table that documents the format), rejects any other,
 * then reads each key with its checker, default and meaning. Cross-table checks: overlap.ts.
 */
import { hostname } from 'node:os';
import { isAbsolute } from 'node:path';
import {
  asTable, cidr, Field, hostAddress, integer, list, matching, oneOf, portRange, quote, str, Table, target,
} from './fields.js';
import * as L from './limits.js';
import type { FirewallBackend, FleetConfig, LogFormat, PortRange, ServiceConfig, ServiceTarget, StoreBackend, StoreConfig } from './types.js';

export const TOP_LEVEL_KEYS = ['server', 'knock', 'grant', 'services', 'store', 'fleet', 'metrics'] as const;
const SERVER_KEYS = ['interfaces', 'addresses', 'user', 'database', 'log_format', 'firewall', 'break_glass'];
const KNOCK_KEYS = ['ports', 'timestamp_window', 'grace'];
const GRANT_KEYS = ['ports', 'default_ttl', 'max_ttl'];
const SERVICE_KEYS = ['id', 'target', 'target6'];
const STORE_KEYS = ['backend', 'path', 'url', 'password_file'];
const FLEET_KEYS = ['gateway', 'gateways'];

export interface ServerSection {
  readonly interfaces: string[];
  readonly addresses: string[];
  readonly user: string;
  /** The SQLite path of configs written before [store] existed (read by readStore). */
  readonly database: string | undefined;
  readonly logFormat: LogFormat;
  readonly firewall: FirewallBackend;
  readonly breakGlass: string[];
}

export function readServer(root: Table): ServerSection {
  const t = root.table('server', SERVER_KEYS);
  return {
    interfaces: t.required('interfaces', list(interfaceName, 1), 'the interfaces knocks arrive on'),
    addresses: t.required(
      'addresses',
      list((v, f) => hostAddress({ loopback: true })(v, f).text, 1),
      "this server's addresses that knocks are sent to",
    ),
    user: t.required('user', userName, 'the unprivileged account the worker runs as'),
    database: t.has('database') ? databasePath(t.raw('database'), t.child('database')) : undefined,
    logFormat: t.optional('log_format', oneOf<LogFormat>(['json', 'text']), 'json'),
    firewall: t.optional('firewall', oneOf<FirewallBackend>(['nftables', 'iptables']), 'nftables'),
    breakGlass: t.optional('break_glass', list(cidr, 0), []),
  };
}

export interface KnockSection {
  readonly knockPorts: PortRange;
  readonly timestampWindowSec: number;
  readonly graceSec: number;
}

export function readKnock(root: Table): KnockSection {
  const t = root.table('knock', KNOCK_KEYS);
  return {
    knockPorts: t.required('ports', portRange(L.MIN_KNOCK_RANGE, L.MAX_KNOCK_RANGE), 'the knock port range, "A-B"'),
    timestampWindowSec: t.optional(
      'timestamp_window',
      integer(L.MIN_TIMESTAMP_WINDOW_SEC, L.MAX_TIMESTAMP_WINDOW_SEC, 'seconds'),
      L.DEFAULT_TIMESTAMP_WINDOW_SEC,
    ),
    graceSec: t.optional('grace', integer(0, L.MAX_GRACE_SEC, 'seconds'), L.DEFAULT_GRACE_SEC),
  };
}

export interface GrantSection {
  readonly forwardPorts: PortRange;
  readonly defaultTtlSec: number;
  readonly maxTtlSec: number;
}

export function readGrant(root: Table): GrantSection {
  const t = root.table('grant', GRANT_KEYS);
  const forwardPorts = t.required('ports', portRange(L.MIN_FORWARD_RANGE, Infinity), 'the forward port range, "A-B"');
  // max_ttl first: default_ttl is bounded by it.
  const maxTtlSec = t.optional('max_ttl', integer(L.MIN_TTL_SEC, L.MAX_MAX_TTL_SEC, 'seconds'), L.DEFAULT_MAX_TTL_SEC);
  const defaultTtlSec = t.optional(
    'default_ttl',
    integer(L.MIN_TTL_SEC, maxTtlSec, 'seconds, at most max_ttl'),
    Math.min(L.DEFAULT_TTL_SEC, maxTtlSec),
  );
  return { forwardPorts, defaultTtlSec, maxTtlSec };
}

/** [services.<name>] tables: at least one; names [a-z][a-z0-9_-]{0,31}; ids checked in overlap.ts. */
export function readServices(root: Table): ServiceConfig[] {
  const field = root.child('services');
  const meaning = 'at least one [services.<name>] table with id and target or target6';
  if (!root.has('services')) field.src.fail('CONFIG_MISSING', field.path, `the file has no services (${meaning})`);
  const services = asTable(root.raw('services'), field);
  const names = Object.keys(services);
  if (names.length === 0) field.bad(`no services defined (${meaning})`, 'CONFIG_MISSING');
  return names.map((name) => {
    const at = new Field(field.src, ['services', name]);
    if (!L.SERVICE_NAME.test(name)) at.bad(`service name ${quote(name)} is not allowed; use ${L.SERVICE_NAME.source.slice(1, -1)}`);
    const t = Table.open(services[name], at, SERVICE_KEYS);
    const id = t.required('id', integer(L.MIN_SERVICE_ID, L.MAX_SERVICE_ID), 'the service id carried in knocks');
    const target4: ServiceTarget | undefined = t.has('target') ? target(4)(t.raw('target'), t.child('target')) : undefined;
    const target6: ServiceTarget | undefined = t.has('target6') ? target(6)(t.raw('target6'), t.child('target6')) : undefined;
    if (!target4 && !target6) {
      at.src.fail('CONFIG_MISSING', at.path, `[${at.name}] needs target (IPv4 "host:port") or target6 ("[host]:port") or both`);
    }
    return { name, id, ...(target4 && { target4 }), ...(target6 && { target6 }) };
  });
}

/**
 * [store]: backend "sqlite" (path) or "postgres" (url, optional password_file). The SQLite path may
 * still come from [server] database (configs written before [store]), never from both places.
 */
export function readStore(root: Table, legacyDatabase: string | undefined): StoreConfig {
  const t = root.table('store', STORE_KEYS);
  const backend = t.optional('backend', oneOf<StoreBackend>(['sqlite', 'postgres']), 'sqlite');
  if (legacyDatabase !== undefined && root.has('store')) {
    root.child('server').src.fail('CONFIG_OVERLAP', ['server', 'database'],
      'server.database and a [store] table are both set; move the path to [store] path and delete server.database');
  }
  const only = (key: string, want: StoreBackend): void => {
    if (t.has(key) && backend !== want) t.child(key).bad(`only used with backend = "${want}"`);
  };
  only('path', 'sqlite');
  only('url', 'postgres');
  only('password_file', 'postgres');
  if (backend === 'sqlite') {
    if (legacyDatabase !== undefined) return { backend, path: legacyDatabase };
    return { backend, path: t.required('path', databasePath, 'the SQLite database path') };
  }
  const url = t.required('url', postgresUrl, 'the PostgreSQL connection URL');
  const passwordFile = t.has('password_file') ? databasePath(t.raw('password_file'), t.child('password_file')) : undefined;
  return { backend, url, ...(passwordFile !== undefined && { passwordFile }) };
}

/** [fleet]: this gateway's name (default: the host name) and the fleet's gateways' addresses. */
export function readFleet(root: Table, addresses: readonly string[], host: () => string = hostname): FleetConfig {
  const t = root.table('fleet', FLEET_KEYS);
  const gateway = t.has('gateway') ? gatewayName(t.raw('gateway'), t.child('gateway')) : defaultGateway(t, host());
  const gatewayAddresses = (v: unknown, f: Field): string[] => {
    const l = list((x, g) => hostAddress({ loopback: true })(x, g).text, 1)(v, f);
    if (l.length > L.MAX_GATEWAY_ADDRESSES) f.bad(`at most ${L.MAX_GATEWAY_ADDRESSES} addresses per gateway`);
    return l;
  };
  const gateways = t.optional('gateways', (v: unknown, f: Field) => {
    if (!Array.isArray(v)) f.bad('expected an array of gateways, each an array of its addresses');
    if (v.length > L.MAX_GATEWAYS) f.bad(`at most ${L.MAX_GATEWAYS} gateways`);
    const all = list(gatewayAddresses, 1)(v, f);
    const seen = new Set<string>();
    all.forEach((g, i) => g.forEach((a) => {
      if (seen.has(a)) f.at(i).bad(`${quote(a)} belongs to two gateways`);
      seen.add(a);
    }));
    return all;
  }, [[...addresses]]);
  return { gateway, gateways };
}

function gatewayName(value: unknown, field: Field): string {
  return matching(L.GATEWAY_NAME, 'a gateway name ([A-Za-z0-9] then [A-Za-z0-9_.-], up to 64 characters)')(value, field);
}

function defaultGateway(t: Table, host: string): string {
  if (!L.GATEWAY_NAME.test(host)) {
    t.field.src.fail('CONFIG_MISSING', ['fleet', 'gateway'], `the host name ${quote(host)} is not a usable gateway name; set [fleet] gateway`);
  }
  return host;
}

/** postgres:// or postgresql:// URL without a password in it (the config is readable by others). */
function postgresUrl(value: unknown, field: Field): string {
  const s = str(value, field);
  if (!/^postgres(ql)?:\/\/[^\s]*$/.test(s) || s.includes('\0')) field.bad('expected a URL like "postgresql://tumbler@/tumbler?host=/run/postgresql"');
  const authority = s.replace(/^postgres(ql)?:\/\//, '').split(/[/?#]/, 1)[0]!;
  const at = authority.lastIndexOf('@');
  if ((at >= 0 && authority.slice(0, at).includes(':')) || /[?&]password=/i.test(s)) {
    field.bad('must not contain a password (this file is world-readable): use password_file or peer authentication');
  }
  return s;
}

// ---- value checkers specific to [server] ----

function interfaceName(value: unknown, field: Field): string {
  const s = str(value, field);
  if (!L.INTERFACE_NAME.test(s) || s === '.' || s === '..') {
    field.bad(`${quote(s)} is not a network interface name (1..15 printable characters, no "/" or ":")`);
  }
  return s;
}

/** An unprivileged account's name (the worker's, the metrics exporter's): never root. */
export function userName(value: unknown, field: Field): string {
  const s = matching(L.ACCOUNT_NAME, `an account name (${L.ACCOUNT_NAME.source.slice(1, -1)})`)(value, field);
  if (s === 'root') field.bad('must be an unprivileged account, not root');
  return s;
}

function databasePath(value: unknown, field: Field): string {
  const s = str(value, field);
  if (!isAbsolute(s) || s.includes('\0') || s.endsWith('/')) field.bad(`${quote(s)} is not an absolute file path`);
  return s;
}


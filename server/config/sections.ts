/**
 * The tables of tumblerd.toml, read in file order: [server], [knock], [grant], [services.<name>].
 * Each reader lists its allowed keys (the table that documents the format), rejects any other,
 * then reads each key with its checker, default and meaning. Cross-table checks: overlap.ts.
 */
import { isAbsolute } from 'node:path';
import {
  asTable, cidr, Field, hostAddress, integer, list, matching, oneOf, portRange, quote, str, Table, target,
} from './fields.js';
import * as L from './limits.js';
import type { FirewallBackend, LogFormat, PortRange, ServiceConfig, ServiceTarget } from './types.js';

export const TOP_LEVEL_KEYS = ['server', 'knock', 'grant', 'services'] as const;
const SERVER_KEYS = ['interfaces', 'addresses', 'user', 'database', 'log_format', 'firewall', 'break_glass'];
const KNOCK_KEYS = ['ports', 'timestamp_window', 'grace'];
const GRANT_KEYS = ['ports', 'default_ttl', 'max_ttl'];
const SERVICE_KEYS = ['id', 'target', 'target6'];

export interface ServerSection {
  readonly interfaces: string[];
  readonly addresses: string[];
  readonly user: string;
  readonly database: string;
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
    database: t.required('database', databasePath, 'the SQLite database path'),
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

// ---- value checkers specific to [server] ----

function interfaceName(value: unknown, field: Field): string {
  const s = str(value, field);
  if (!L.INTERFACE_NAME.test(s) || s === '.' || s === '..') {
    field.bad(`${quote(s)} is not a network interface name (1..15 printable characters, no "/" or ":")`);
  }
  return s;
}

function userName(value: unknown, field: Field): string {
  const s = matching(L.ACCOUNT_NAME, `an account name (${L.ACCOUNT_NAME.source.slice(1, -1)})`)(value, field);
  if (s === 'root') field.bad('must be an unprivileged account, not root');
  return s;
}

function databasePath(value: unknown, field: Field): string {
  const s = str(value, field);
  if (!isAbsolute(s) || s.includes('\0') || s.endsWith('/')) field.bad(`${quote(s)} is not an absolute file path`);
  return s;
}


/**
 * tumblerd.toml → TumblerConfig, once and strictly (format: server/config/example.toml).
 *
 * Phases: read the file (bounded, regular, not world-writable, UTF-8) → TOML syntax (smol-toml)
 * → key lines → each table on its own (unknown key, missing key, type, value) → cross-table
 * overlaps → a frozen, typed config. Every error is a TumblerError with a CONFIG_* code and a
 * message starting "file:line: ". Codes: CONFIG_UNREADABLE, CONFIG_UNSAFE, CONFIG_SYNTAX,
 * CONFIG_UNKNOWN_KEY, CONFIG_MISSING, CONFIG_BAD_VALUE, CONFIG_OVERLAP.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { TumblerError } from '../../shared/errors.js';
import { Field, Source, Table } from './fields.js';
import { MAX_CONFIG_BYTES, MAX_TOML_DEPTH } from './limits.js';
import { KeyLines } from './lines.js';
import { readMetrics } from './metrics.js';
import { checkOverlaps } from './overlap.js';
import { describeTomlError } from './syntax.js';
import { readFleet, readGrant, readKnock, readServer, readServices, readStore, TOP_LEVEL_KEYS } from './sections.js';
import type { TumblerConfig } from './types.js';

/** Read and parse the config file at `file`. */
export function loadConfig(file: string): TumblerConfig {
  return loadConfigSource(file).config;
}

/** Read and parse the config file at `file`; also its text, for a process that must parse the very same config. */
export function loadConfigSource(file: string): { readonly text: string; readonly config: TumblerConfig } {
  const text = readConfigText(file);
  return { text, config: parseConfig(text, file) };
}

/** Parse config text; `file` names it in messages (and, resolved, in the result). */
export function parseConfig(text: string, file: string): TumblerConfig {
  // 1. TOML syntax.
  let doc: Record<string, unknown>;
  try {
    doc = parse(text, { maxDepth: MAX_TOML_DEPTH });
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    const what = /^Invalid TOML document: ([^\n]*)/.exec(e.message)?.[1] ?? 'invalid TOML';
    throw new TumblerError('CONFIG_SYNTAX', `${file}:${e.line}: TOML syntax error at column ${e.column}: ${describeTomlError(text, e.line, what)}`);
  }

  // 2. Where each key is, for messages.
  const src = new Source(file, KeyLines.scan(text));

  // 3. Each table on its own, in file order.
  const root = Table.open(doc, new Field(src, []), TOP_LEVEL_KEYS);
  const server = readServer(root);
  const knock = readKnock(root);
  const grant = readGrant(root);
  const services = readServices(root);
  const store = readStore(root, server.database);
  const fleet = readFleet(root, server.addresses);
  const metrics = readMetrics(root);

  // 4. Across tables.
  checkOverlaps(src, server, knock, grant, services);

  // 5. The typed result, frozen.
  return Object.freeze({
    file: resolve(file),
    interfaces: Object.freeze(server.interfaces),
    addresses: Object.freeze(server.addresses),
    user: server.user,
    store: Object.freeze(store),
    fleet: Object.freeze({ gateway: fleet.gateway, gateways: Object.freeze(fleet.gateways.map((g) => Object.freeze(g))) }),
    logFormat: server.logFormat,
    firewall: server.firewall,
    knockPorts: Object.freeze(knock.knockPorts),
    timestampWindowSec: knock.timestampWindowSec,
    graceSec: knock.graceSec,
    forwardPorts: Object.freeze(grant.forwardPorts),
    defaultTtlSec: grant.defaultTtlSec,
    maxTtlSec: grant.maxTtlSec,
    breakGlass: Object.freeze(server.breakGlass),
    services: Object.freeze(
      services.map((s) =>
        Object.freeze({
          ...s,
          ...(s.target4 && { target4: Object.freeze(s.target4) }),
          ...(s.target6 && { target6: Object.freeze(s.target6) }),
        }),
      ),
    ),
    ...(metrics && { metrics: Object.freeze({ listen: Object.freeze(metrics.listen), user: metrics.user }) }),
  });
}

/** One line for stderr: the message and its code; anything else is reported as unexpected. */
export function formatConfigError(e: unknown): string {
  if (e instanceof TumblerError) return `${e.message} [${e.code}]`;
  return `unexpected error while reading the configuration: ${e instanceof Error ? e.message : String(e)}`;
}

/** The file's text: a regular file, at most MAX_CONFIG_BYTES, not world-writable, valid UTF-8. */
function readConfigText(file: string): string {
  const unreadable = (why: string): never => {
    throw new TumblerError('CONFIG_UNREADABLE', `${file}: cannot read the configuration: ${why}`);
  };
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    return unreadable(errnoOf(e));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) unreadable('not a regular file');
    if (st.size > MAX_CONFIG_BYTES) unreadable(`larger than ${MAX_CONFIG_BYTES} bytes`);
    if (st.mode & 0o002) {
      throw new TumblerError('CONFIG_UNSAFE', `${file}: refusing a world-writable configuration; chmod o-w it`);
    }
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) {
      got = readSync(fd, buf, n, buf.length - n, null);
    }
    if (n > MAX_CONFIG_BYTES) unreadable(`larger than ${MAX_CONFIG_BYTES} bytes`);
    return decodeUtf8(buf.subarray(0, n), file);
  } catch (e) {
    if (e instanceof TumblerError) throw e;
    return unreadable(errnoOf(e));
  } finally {
    closeSync(fd);
  }
}

/** TOML is UTF-8: anything else is a syntax error on the line of the first bad byte. */
function decodeUtf8(bytes: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const lossy = new TextDecoder('utf-8').decode(bytes);
    const line = lossy.slice(0, Math.max(0, lossy.indexOf('\uFFFD'))).split('\n').length;
    throw new TumblerError('CONFIG_SYNTAX', `${file}:${line}: not valid UTF-8 (TOML files are UTF-8)`);
  }
}

function errnoOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'read failed';
}

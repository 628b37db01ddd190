/**
 * TCP option lists: a structural check for the parser (kinds, length bytes, bounds) and a small
 * decoder of the options Tumbler cares about (for tests and diagnostics). Pure.
 */
import { TumblerError } from '../errors.js';
import {
  TCPOLEN_MSS, TCPOLEN_SACK_PERM, TCPOLEN_TIMESTAMP, TCPOLEN_WSCALE, TCPOPT_EOL, TCPOPT_MSS, TCPOPT_NOP,
  TCPOPT_SACK_PERM, TCPOPT_TIMESTAMP, TCPOPT_WSCALE,
} from './constants.js';

/**
 * True when buf[start, end) is a well-formed option list: EOL ends it (the rest is padding), NOP
 * is one byte, every other option has a length byte >= 2 that stays inside the header.
 */
export function checkTcpOptions(buf: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const kind = buf[i]!;
    if (kind === TCPOPT_EOL) return true;
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return false;
    const len = buf[i + 1]!;
    if (len < 2 || i + len > end) return false;
    i += len;
  }
  return true;
}

export interface DecodedTcpOptions {
  /** Kinds in wire order, NOPs included, EOL included when present. */
  readonly order: readonly number[];
  readonly mss?: number;
  readonly wscale?: number;
  readonly sackPermitted: boolean;
  readonly timestamp?: { readonly tsVal: number; readonly tsEcr: number };
}

/** Decode an option list (e.g. ParsedTcp.tcpOptions). Throws PACKET_BAD_OPTIONS when malformed. */
export function decodeTcpOptions(opts: Buffer): DecodedTcpOptions {
  if (!checkTcpOptions(opts, 0, opts.length)) throw new TumblerError('PACKET_BAD_OPTIONS', 'malformed TCP options');
  const order: number[] = [];
  let mss: number | undefined;
  let wscale: number | undefined;
  let sackPermitted = false;
  let timestamp: { tsVal: number; tsEcr: number } | undefined;
  for (let i = 0; i < opts.length;) {
    const kind = opts[i]!;
    order.push(kind);
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    const len = opts[i + 1]!;
    if (kind === TCPOPT_MSS && len === TCPOLEN_MSS) mss = opts.readUInt16BE(i + 2);
    else if (kind === TCPOPT_WSCALE && len === TCPOLEN_WSCALE) wscale = opts[i + 2]!;
    else if (kind === TCPOPT_SACK_PERM && len === TCPOLEN_SACK_PERM) sackPermitted = true;
    else if (kind === TCPOPT_TIMESTAMP && len === TCPOLEN_TIMESTAMP) timestamp = { tsVal: opts.readUInt32BE(i + 2), tsEcr: opts.readUInt32BE(i + 6) };
    i += len;
  }
  return { order, sackPermitted, ...(mss !== undefined && { mss }), ...(wscale !== undefined && { wscale }), ...(timestamp && { timestamp }) };
}

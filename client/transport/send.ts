/**
 * Chooses how the knock's packets leave: in-process raw sockets when this process may open them
 * (root, or CAP_NET_RAW in its effective set), else the privileged C helper. Both send the same
 * bytes and match the same SYN-ACK. `TUMBLER_TRANSPORT=raw|helper` forces one (tests, debugging);
 * `TUMBLER_HELPER` names the helper binary.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TumblerError, isTumblerError } from '../../shared/errors.js';
import type { IpFamily } from '../../shared/net/address.js';
import { DEFAULT_HELPER_PATH } from './install-helper.js';

/**
 * Sends three full IP packets in the given order and resolves the payload of the SYN-ACK answering
 * the last one, or null when none came within `timeoutMs`. `accept` lets a transport that can keep
 * listening skip payloads that are not the reply (the helper returns the first match only).
 */
export type KnockTransport = (family: IpFamily, packets: readonly Buffer[], timeoutMs: number,
  accept?: (payload: Buffer) => boolean) => Promise<Buffer | null>;

const CAP_NET_RAW = 13n;

/** True when the effective capability set (or uid 0) allows raw sockets. */
export function hasRawPrivilege(statusText?: string): boolean {
  if (statusText === undefined && process.getuid?.() === 0) return true;
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return false;
    }
  }
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(text);
  return m ? ((BigInt(`0x${m[1]!}`) >> CAP_NET_RAW) & 1n) === 1n : false;
}

/** The helper built in this checkout (client/helper/tumbler-helper), from src or from dist. */
export function repoHelperPath(): string {
  const candidates = ['../helper/tumbler-helper', '../../../client/helper/tumbler-helper']; // from client/ or dist/client/
  const paths = candidates.map((c) => fileURLToPath(new URL(c, import.meta.url)));
  return paths.find((p) => existsSync(p)) ?? paths[0]!;
}

/** $TUMBLER_HELPER, else the installed helper, else the one built in this checkout. */
export function helperPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TUMBLER_HELPER) return env.TUMBLER_HELPER;
  if (existsSync(DEFAULT_HELPER_PATH)) return DEFAULT_HELPER_PATH;
  return repoHelperPath();
}

async function viaHelper(family: IpFamily, packets: readonly Buffer[], timeoutMs: number): Promise<Buffer | null> {
  const { runHelper } = await import('./helper.js');
  const path = helperPath();
  try {
    return await runHelper(path, family, packets, timeoutMs);
  } catch (e) {
    if (isTumblerError(e, 'HELPER_MISSING')) {
      throw new TumblerError('HELPER_MISSING', `the raw-socket helper is not installed (looked at ${path}); install it with: sudo tumbler install-helper`, { cause: e });
    }
    throw e;
  }
}

type Mode = 'raw' | 'helper';
let chosen: Mode | null = null;

function initialMode(env: NodeJS.ProcessEnv): Mode {
  const forced = env.TUMBLER_TRANSPORT;
  if (forced === 'raw' || forced === 'helper') return forced;
  if (forced) throw new TumblerError('BAD_ARGUMENT', 'TUMBLER_TRANSPORT must be "raw" or "helper"');
  return hasRawPrivilege() ? 'raw' : 'helper';
}

/** The default transport: raw sockets when privileged, else the helper. */
export const sendKnock: KnockTransport = async (family, packets, timeoutMs, accept) => {
  chosen ??= initialMode(process.env);
  if (chosen === 'raw') {
    try {
      const { sendRaw } = await import('./raw.js');
      return await sendRaw(family, packets, timeoutMs, accept);
    } catch (e) {
      // Privileged on paper but no usable raw socket (module not built, a restricting LSM): use the helper.
      if (process.env.TUMBLER_TRANSPORT === 'raw' || !(isTumblerError(e, 'RAW_UNAVAILABLE') || isTumblerError(e, 'RAW_NOT_PERMITTED'))) throw e;
      chosen = 'helper';
    }
  }
  return viaHelper(family, packets, timeoutMs);
};

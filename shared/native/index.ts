/**
 * Typed loader for the tumbler_native addon (shared/native/tumbler_native.c): prctl no_new_privs and
 * dumpable, SO_LOCK_FILTER on the capture sockets, SO_PEERCRED of a Unix-socket peer — the system calls
 * Node 20 has no API for. Built by scripts/build-native.mjs next to its source; loaded lazily, so
 * code that never needs it never loads it. A missing build is NATIVE_MISSING.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TumblerError } from '../errors.js';

export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

interface NativeAddon {
  setNoNewPrivs(): void;
  getNoNewPrivs(): number;
  lockPacketFilters(): number;
  peerCredentials(fd: number): PeerCredentials;
  setNotDumpable(): void;
  isDumpable(): number;
}

/** Where the addon is looked for: beside this file (sources) or in the checkout from dist/. */
const CANDIDATES = ['./tumbler_native.node', '../../../shared/native/tumbler_native.node'];

let addon: NativeAddon | null = null;

function load(): NativeAddon {
  if (addon) return addon;
  const paths = CANDIDATES.map((c) => fileURLToPath(new URL(c, import.meta.url)));
  const path = paths.find((p) => existsSync(p));
  if (!path) throw new TumblerError('NATIVE_MISSING', `the tumbler_native addon is not built (looked at ${paths.join(', ')}); run: npm run build`);
  addon = createRequire(import.meta.url)(path) as NativeAddon;
  return addon;
}

/** Set PR_SET_NO_NEW_PRIVS for this process (inherited by every child; cannot be unset). */
export function setNoNewPrivs(): void {
  load().setNoNewPrivs();
}

export function hasNoNewPrivs(): boolean {
  return load().getNoNewPrivs() === 1;
}

/** PR_SET_DUMPABLE 0: no core dump; other processes of the same user cannot ptrace or read this one. */
export function setNotDumpable(): void {
  load().setNotDumpable();
}

export function isDumpable(): boolean {
  return load().isDumpable() !== 0;
}

/** SO_LOCK_FILTER on every AF_PACKET socket this process holds; the number locked. */
export function lockPacketFilters(): number {
  return load().lockPacketFilters();
}

/** The kernel's record of who is at the other end of a connected Unix-domain socket. */
export function peerCredentials(socket: Socket): PeerCredentials {
  // Node keeps the descriptor on the socket's handle (Pipe) and exposes no accessor for it.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new TumblerError('NATIVE_NO_FD', 'socket has no file descriptor (not a connected Unix socket?)');
  return load().peerCredentials(fd);
}

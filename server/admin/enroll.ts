/**
 * Enrolling a device: password (file, prompt or generated) → scrypt device key with a fresh
 * 16-byte salt → in one transaction the device row (new or re-enrolled), its first one-time
 * sequence and the audit row → the enrollment bundle, on stdout or in a new 0600 file. The key is
 * wiped after use; the password never leaves this process except as a generated passphrase,
 * shown once on the admin's terminal (stderr).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, openSync, rmSync, writeSync } from 'node:fs';
import { isIP } from 'node:net';
import { TumblerError } from '../../shared/errors.js';
import { encodeBundle } from '../../shared/protocol/bundle.js';
import { DEFAULT_SCRYPT, SALT_BYTES, deriveDeviceKey, type KdfParams } from '../../shared/protocol/kdf.js';
import type { Sequence } from '../../shared/protocol/sequence.js';
import type { TumblerConfig } from '../config/types.js';
import { withFreshSequence } from '../store/sequence-draw.js';
import type { AdminContext } from './context.js';
import { operator } from './context.js';
import { obtainPassword, type PasswordOptions } from './password.js';

export interface BundleOptions extends PasswordOptions {
  readonly server?: string;
  readonly out?: string;
}

export interface EnrollRequest {
  readonly user: string;
  readonly device: string;
  readonly mode: 'add' | 'reenroll';
  /** Checks that need no password (exists / not found), run before asking for one. */
  readonly precheck: () => Promise<void>;
  /** Create the user with these services in the same transaction (`user add`). */
  readonly createUser?: readonly string[];
  readonly auditEvent: string;
}

/** Services named on the command line (comma list), each configured; default all of them. */
export function resolveServices(cfg: TumblerConfig, list?: string): string[] {
  if (list === undefined) return cfg.services.map((s) => s.name);
  const names = [...new Set(list.split(',').map((s) => s.trim()).filter((s) => s.length > 0))];
  if (names.length === 0) throw new TumblerError('USAGE', '--services needs at least one service name');
  for (const n of names) {
    if (!cfg.services.some((s) => s.name === n)) {
      throw new TumblerError('ADMIN_UNKNOWN_SERVICE', `service "${n}" is not configured (configured: ${cfg.services.map((s) => s.name).join(', ')})`);
    }
  }
  return names;
}

/** The address the bundle tells the device to knock on: --server, which must be configured. */
export function resolveServer(cfg: TumblerConfig, server?: string): string {
  if (server === undefined) return cfg.addresses[0]!;
  if (isIP(server) === 0 || !cfg.addresses.includes(server)) {
    throw new TumblerError('ADMIN_BAD_ADDRESS', `--server must be one of the configured addresses: ${cfg.addresses.join(', ')}`);
  }
  return server;
}

/** Name → id for the bundle, for the user's services that are still configured. */
export function bundleServices(cfg: TumblerConfig, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) {
    const s = cfg.services.find((x) => x.name === n);
    if (s) out[n] = s.id;
  }
  if (Object.keys(out).length === 0) {
    throw new TumblerError('ADMIN_UNKNOWN_SERVICE', 'none of the user\'s services is configured any more');
  }
  return out;
}

/** Where the bundle goes: a file created here and now (O_EXCL, 0600, no symlink), or stdout. */
interface BundleSink {
  write(text: string): void;
  abandon(): void;
}

function openBundleSink(out?: string): BundleSink {
  if (out === undefined) return { write: (t) => void process.stdout.write(t), abandon: () => undefined };
  let fd: number;
  try {
    fd = openSync(out, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    fchmodSync(fd, 0o600); // whatever the umask
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new TumblerError('ADMIN_OUT_EXISTS', `${out} already exists; not overwriting it`);
    throw new TumblerError('ADMIN_OUT_FILE', `cannot create ${out}: ${code ?? 'error'}`);
  }
  let open = true;
  return {
    write(text) {
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
        open = false;
      }
    },
    abandon() {
      if (!open) return;
      closeSync(fd);
      open = false;
      rmSync(out, { force: true });
    },
  };
}

/** The whole enrollment; see the file header. */
export async function enrollDevice(ctx: AdminContext, r: EnrollRequest, o: BundleOptions, random: (n: number) => Buffer = randomBytes): Promise<void> {
  const { cfg, data, now } = ctx;
  const server = resolveServer(cfg, o.server);
  await r.precheck();
  const services = bundleServices(cfg, r.createUser ?? (await data.store.getUser(r.user))?.services ?? []);
  const sink = openBundleSink(o.out);
  try {
    // 1. Password → key (slow, outside any transaction).
    const { password, generated } = await obtainPassword(o);
    const kdf: KdfParams = { ...DEFAULT_SCRYPT, salt: random(SALT_BYTES) };
    const key = await deriveDeviceKey(password, kdf);

    // 2. One transaction: (the user,) the device and its first sequence, the audit row; a drawn
    //    sequence already in play somewhere in the fleet is drawn again.
    let sequence: Sequence;
    try {
      sequence = await withFreshSequence(cfg.knockPorts, random, async (first) => {
        await data.store.enrollDevice({
          user: r.user, device: r.device, mode: r.mode, key, kdf, first, ...(r.createUser && { createUser: r.createUser }),
          audit: { event: r.auditEvent, user: r.user, device: r.device, result: 'ok', reason: `by ${operator()}` },
        });
        return first;
      });
    } finally {
      key.fill(0);
    }
    const text = encodeBundle({ server, user: r.user, device: r.device, kdf, sequence, services, issuedAtMs: now() }) + '\n';

    // 3. Hand it out; show a generated password once.
    sink.write(text);
    if (o.out !== undefined) process.stderr.write(`enrollment bundle for ${r.user}/${r.device} written to ${o.out} (mode 0600)\n`);
    if (generated) {
      process.stderr.write(
        `\nPassword for ${r.user}/${r.device} (shown only this once; give it to the user over a separate channel):\n\n    ${password}\n\n`,
      );
    }
  } catch (e) {
    sink.abandon();
    throw e;
  }
}

/**
 * The open flow (`tumbler open`, `tumbler proxy`): knock with the profile's one-time sequence on
 * its gateways until one grants, store the next sequence, then report the grant. Time,
 * randomness, the packet transport, the local address, the host's preferred family and the
 * password are injected, so the whole flow runs in tests against an in-process server.
 *
 * Order (docs/protocol.md §8–§10), under the profile lock: the gateway addresses in targets.ts's
 * order; for each, attempt.ts (knock bound to the address the server last saw, or probe first and
 * knock bound to what it reports); the first grant is stored atomically (next sequence, clock
 * offset, the address seen per family, the gateway that answered, the grant) BEFORE anything is
 * reported. Without a grant, the profile keeps the last second used on its sequence and what the
 * probes showed, and the error names the cause (causes.ts).
 */
import { TumblerError } from '../../shared/errors.js';
import { formatAddress, parseAddress, type IpFamily } from '../../shared/net/address.js';
import { knockKeys } from '../../shared/protocol/knock.js';
import { replyKey } from '../../shared/protocol/reply.js';
import type { Sequence } from '../../shared/protocol/sequence.js';
import { withProfileLock } from '../state/lock.js';
import { loadProfile, saveProfile } from '../state/profile.js';
import { observedIn, type Profile } from '../state/schema.js';
import { readSynFields, type HostSyn } from '../transport/host-tcp.js';
import type { KnockTransport } from '../transport/send.js';
import { attempt, type BoundSource } from './attempt.js';
import { noGrant, type Tried } from './causes.js';
import { KnockClock, clockDoubt } from './clock.js';
import { MAX_WAIT_MS, MIN_WAIT_MS } from './exchange.js';
import { keyForPassword } from './password-key.js';
import { hostPreferredFamily, orderTargets } from './targets.js';
import type { RandomBytes } from './wire.js';

export const DEFAULT_TIMEOUT_MS = 1000;

export interface OpenOptions {
  /** Profiles directory. */
  readonly dir: string;
  readonly profile: string;
  readonly service?: string;
  readonly timeoutMs?: number;
  readonly publicAddress?: string;
  /** Knock only this gateway address (one of the profile's). */
  readonly gateway?: string;
}

export interface OpenDeps {
  readonly now: () => number;
  readonly random: RandomBytes;
  readonly transport: KnockTransport;
  /** The local source address the kernel uses towards the server; throws NO_ROUTE. */
  readonly localAddress: (server: string, family: IpFamily) => Promise<string>;
  /** The window, MSS and options of this host's SYNs to a gateway address (default: read from the host, host-tcp.ts). */
  readonly synFields?: (family: IpFamily, target: string) => HostSyn['fields'];
  /** The family to try first within a gateway (default: the host's, targets.ts). */
  readonly preferFamily?: () => IpFamily;
  /** Asked only when the profile keeps its key off disk. */
  readonly password?: () => Promise<string>;
  /** A key unlocked earlier for a profile that keeps its key off disk (the agent's), tried before the password. */
  readonly unlockedKey?: (p: Profile) => Buffer | null;
  /** Progress notes for humans (never secrets); default: none. */
  readonly note?: (line: string) => void;
}

export interface OpenResult {
  readonly profile: string;
  readonly service: string;
  /** The gateway address that granted. */
  readonly server: string;
  readonly port: number;
  /** Grant expiry, Unix seconds, server clock. */
  readonly expiresAt: number;
  readonly observedAddress: string;
  readonly clockOffsetMs: number;
  /** The address the successful knock was bound to, and where it came from. */
  readonly boundAddress: string;
  readonly boundSource: BoundSource;
}

/** The service to open: the one asked for, else the profile's only one, else "ssh". */
export function pickService(p: Profile, asked?: string): { name: string; id: number } {
  const names = Object.keys(p.services).sort();
  const name = asked ?? (names.length === 1 ? names[0]! : 'ssh');
  const id = p.services[name];
  if (id === undefined) {
    if (asked === undefined) throw new TumblerError('SERVICE_REQUIRED', `profile "${p.name}" has several services; choose one with --service (${names.join(', ')})`);
    throw new TumblerError('SERVICE_UNKNOWN', `profile "${p.name}" has no service "${asked}" (it has: ${names.join(', ')})`);
  }
  return { name, id };
}

function storedKey(p: Profile): Buffer | null {
  return p.key === undefined ? null : Buffer.from(p.key, 'base64');
}

const sameKdf = (a: Profile['kdf'], b: Profile['kdf']): boolean => a.salt === b.salt && a.N === b.N && a.r === b.r && a.p === b.p;

/** The key from a typed password; a password that fails the profile's key check is PASSWORD_WRONG at once. */
async function keyFromPassword(p: Profile, deps: OpenDeps): Promise<Buffer> {
  const unlocked = deps.unlockedKey?.(p);
  if (unlocked) return unlocked;
  if (!deps.password) throw new TumblerError('PASSWORD_UNAVAILABLE', `profile "${p.name}" keeps its key off disk and no password source is available`);
  return keyForPassword(p, await deps.password());
}

/** --public-address, canonical; its family decides which gateway addresses it applies to. */
function publicAddressOf(text?: string): { text: string; family: IpFamily } | undefined {
  if (text === undefined) return undefined;
  try {
    const a = parseAddress(text);
    return { text: formatAddress(a.family, a.bytes), family: a.family };
  } catch {
    throw new TumblerError('BAD_ARGUMENT', '--public-address must be an IP address literal');
  }
}

/** Runs the whole open flow. Throws TumblerError (SERVER_SILENT, CLOCK_*, ADDRESS_*, KNOCK_REFUSED, PASSWORD_WRONG, PROFILE_*, SERVICE_*, HELPER_*, ...). */
export async function openService(o: OpenOptions, deps: OpenDeps): Promise<OpenResult> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < MIN_WAIT_MS || timeoutMs > MAX_WAIT_MS) {
    throw new TumblerError('BAD_ARGUMENT', `timeout must be ${MIN_WAIT_MS}..${MAX_WAIT_MS} ms`);
  }
  const publicAddress = publicAddressOf(o.publicAddress);
  // Ask for the password (if any) before taking the lock, so a slow typist blocks nobody.
  const peek = await loadProfile(o.dir, o.profile);
  pickService(peek, o.service);
  const preferFamily = deps.preferFamily?.() ?? hostPreferredFamily();
  const targets0 = orderTargets(peek, preferFamily, o.gateway);
  if (publicAddress && !targets0.some((t) => parseAddress(t).family === publicAddress.family)) {
    throw new TumblerError('BAD_ARGUMENT', `--public-address is IPv${publicAddress.family}, and no gateway address to try is`);
  }
  const derived = storedKey(peek) ?? await keyFromPassword(peek, deps);

  return withProfileLock(o.dir, o.profile, async () => {
    const p = await loadProfile(o.dir, o.profile);
    const key = storedKey(p) ?? (sameKdf(p.kdf, peek.kdf) ? derived : null);
    if (!key) throw new TumblerError('PROFILE_CHANGED', `profile "${o.profile}" was re-enrolled meanwhile; run the command again`);
    const service = pickService(p, o.service);
    const targets = orderTargets(p, preferFamily, o.gateway);
    const sequence: Sequence = { ports: p.sequence.ports, tags: p.sequence.tags };
    const keys = knockKeys(key);
    const rk = replyKey(key);
    const clock = new KnockClock(deps.now, p.clockOffsetMs, { knock: p.lastSec, probe: p.lastProbeSec });
    const observed: NonNullable<Profile['observed']> = { ...p.observed };
    const tried: Tried[] = [];

    for (const target of targets) {
      const family = parseAddress(target).family;
      const forced = publicAddress?.family === family ? publicAddress.text : undefined;
      let local: string;
      try {
        local = await deps.localAddress(target, family);
      } catch (e) {
        if (!(e instanceof TumblerError && e.code === 'NO_ROUTE')) throw e;
        deps.note?.(`no route to ${target}; next`);
        tried.push({ target, kind: 'no-route' });
        continue;
      }
      // Read once per target: every exchange with it sends SYNs of the same shape.
      const synFields = (deps.synFields ?? readSynFields)(family, target);
      const ctx = { family, local, target, synFields, keys, replyKey: rk, sequence, transport: deps.transport, random: deps.random, now: deps.now };
      const r = await attempt({ ctx, serviceId: service.id, clock, timeoutMs, publicAddress: forced, known: observedIn({ observed }, family), note: deps.note });
      if (r.learned) observed[family === 4 ? '4' : '6'] = r.learned;
      const out = r.outcome;
      if (out.kind === 'granted') {
        const reply = out.grant.reply;
        const clockOffsetMs = Math.round(reply.serverTimeMs - out.grant.atMs);
        const next: Profile = {
          ...p,
          sequence: { ports: [...reply.next.ports], tags: [...reply.next.tags] },
          clockOffsetMs,
          observed,
          lastAnswered: target,
          lastGrant: { port: reply.grantedPort, service: service.name, expiresAt: reply.expiresAt, server: target },
        };
        delete next.lastSec; // a new sequence: nothing sent on it yet
        delete next.lastProbeSec;
        await saveProfile(o.dir, next, { now: deps.now });
        return {
          profile: p.name, service: service.name, server: target, port: reply.grantedPort, expiresAt: reply.expiresAt,
          observedAddress: r.learned!.address, clockOffsetMs, boundAddress: out.bound, boundSource: out.boundSource,
        };
      }
      tried.push({ target, ...out });
      if (out.kind === 'clock') break; // the same clock for every gateway
    }
    // No grant: keep the seconds the server may have recorded on this sequence and what the probes
    // showed (the sequence itself is unchanged).
    const kept: Profile = { ...p, observed };
    delete kept.lastSec;
    delete kept.lastProbeSec;
    if (clock.floor('knock') >= 0) kept.lastSec = clock.floor('knock');
    if (clock.floor('probe') >= 0) kept.lastProbeSec = clock.floor('probe');
    if (JSON.stringify(kept) !== JSON.stringify(p)) await saveProfile(o.dir, kept, { now: () => p.updatedAt });
    throw noGrant(tried, { service: service.name, clockDoubt: clockDoubt(p, deps.now()) });
  });
}

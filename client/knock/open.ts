/**
 * The open flow (`tumbler open`, `tumbler proxy`): knock with the profile's one-time sequence, read
 * the sealed reply, store the next sequence, then report the grant. Time, randomness, the packet
 * transport, the local address and the password are injected, so the whole flow runs in tests
 * against an in-process server.
 *
 * Order (docs/protocol.md §8–§10): under the profile lock, for each bound-address candidate build
 * one knock and send the same three packets up to three times (waits ×1, ×1.5, ×2 of the timeout;
 * an identical retransmit makes the server re-send its stored reply); a payload that does not open
 * is ignored. The first reply that opens is stored atomically (next sequence, clock offset, observed
 * address, grant) BEFORE anything is reported. On failure the profile is left exactly as it was.
 */
import { TumblerError } from '../../shared/errors.js';
import { encodeKnock, knockIsns, knockKeys } from '../../shared/protocol/knock.js';
import { openReply, replyKey, type Reply } from '../../shared/protocol/reply.js';
import { deriveDeviceKey } from '../../shared/protocol/kdf.js';
import type { Sequence } from '../../shared/protocol/sequence.js';
import { withProfileLock } from '../state/lock.js';
import { loadProfile, saveProfile } from '../state/profile.js';
import type { Profile } from '../state/schema.js';
import type { KnockTransport } from '../transport/send.js';
import { boundCandidates, type Candidate } from './candidates.js';
import { clockDoubt, offsetsToTry } from './clock.js';
import { buildKnockFrames } from './frames.js';
import { addressText, type Family, type RandomBytes } from './wire.js';

export const DEFAULT_TIMEOUT_MS = 1000;
/** Wait of attempt i, as a multiple of the timeout: three sends of the same packets per candidate. */
export const ATTEMPT_FACTORS = [1, 1.5, 2] as const;
/** What the helper accepts per wait. */
const MIN_WAIT_MS = 100;
const MAX_WAIT_MS = 10_000;

export interface OpenOptions {
  /** Profiles directory. */
  readonly dir: string;
  readonly profile: string;
  readonly service?: string;
  readonly timeoutMs?: number;
  readonly publicAddress?: string;
}

export interface OpenDeps {
  readonly now: () => number;
  readonly random: RandomBytes;
  readonly transport: KnockTransport;
  /** The local source address the kernel uses towards the server. */
  readonly localAddress: (server: string, family: Family) => Promise<string>;
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
  readonly server: string;
  readonly port: number;
  /** Grant expiry, Unix seconds, server clock. */
  readonly expiresAt: number;
  readonly observedAddress: string;
  readonly clockOffsetMs: number;
  /** The address the successful knock was bound to, and where it came from. */
  readonly boundAddress: string;
  readonly boundSource: Candidate['source'];
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

async function keyFromPassword(p: Profile, deps: OpenDeps): Promise<Buffer> {
  const unlocked = deps.unlockedKey?.(p);
  if (unlocked) return unlocked;
  if (!deps.password) throw new TumblerError('PASSWORD_UNAVAILABLE', `profile "${p.name}" keeps its key off disk and no password source is available`);
  const password = await deps.password();
  return deriveDeviceKey(password, { salt: Buffer.from(p.kdf.salt, 'base64'), N: p.kdf.N, r: p.kdf.r, p: p.kdf.p });
}

const clampWait = (ms: number): number => Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, Math.round(ms)));

interface Received {
  readonly reply: Reply;
  readonly atMs: number;
}

/** One candidate: one knock, up to three identical sends. Resolves the first reply that opens, or null. */
async function knockOnce(p: Profile, key: Buffer, sequence: Sequence, serviceId: number, nowSec: number, cand: Candidate,
  localAddress: string, timeoutMs: number, deps: OpenDeps): Promise<Received | null> {
  const family = p.server.family;
  const knock = encodeKnock({ keys: knockKeys(key), sequence, serviceId, nowSec, boundAddress: cand.bytes });
  const frames = buildKnockFrames(family, localAddress, p.server.address, knock, deps.random);
  const binding = { sequence, isns: knockIsns(knock) };
  const rk = replyKey(key);
  let got: Received | null = null;
  const accept = (payload: Buffer): boolean => {
    if (got) return true;
    try {
      got = { reply: openReply(rk, payload, binding), atMs: deps.now() };
      return true;
    } catch {
      return false; // not ours, or tampered: keep waiting
    }
  };
  for (const factor of ATTEMPT_FACTORS) {
    const payload = await deps.transport(family, frames.packets, clampWait(timeoutMs * factor), accept);
    if (payload !== null && accept(payload)) return got;
  }
  return null;
}

function noReply(p: Profile, tried: readonly Candidate[], nowMs: number): TumblerError {
  const addrs = tried.map((c) => c.address).join(', ');
  const doubt = clockDoubt(p, nowMs);
  if (doubt) {
    return new TumblerError('CLOCK_SKEW', `no reply from ${p.server.address}, and the clock looks wrong: ${doubt}; ` +
      'set the system clock right (NTP), then run the same command again');
  }
  return new TumblerError('OPEN_NO_REPLY', `no reply from ${p.server.address} (knocks bound to ${addrs}, 3 sends each). ` +
    'The knock or reply may have been lost (try again); the server may be down or unreachable; this profile\'s sequence may be ' +
    'out of step with the server (ask for a new bundle and re-enroll with --force); a firewall or middlebox on the path may ' +
    'rewrite TCP sequence numbers or drop SYN-ACKs; the clock may be off (check the system time); behind NAT, try --public-address');
}

/** Runs the whole open flow. Throws TumblerError (OPEN_NO_REPLY, CLOCK_SKEW, PROFILE_*, SERVICE_*, HELPER_*, ...). */
export async function openService(o: OpenOptions, deps: OpenDeps): Promise<OpenResult> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < MIN_WAIT_MS || timeoutMs > MAX_WAIT_MS) {
    throw new TumblerError('BAD_ARGUMENT', `timeout must be ${MIN_WAIT_MS}..${MAX_WAIT_MS} ms`);
  }
  // Ask for the password (if any) before taking the lock, so a slow typist blocks nobody.
  const peek = await loadProfile(o.dir, o.profile);
  pickService(peek, o.service);
  const derived = storedKey(peek) ?? await keyFromPassword(peek, deps);

  return withProfileLock(o.dir, o.profile, async () => {
    const p = await loadProfile(o.dir, o.profile);
    const key = storedKey(p) ?? (sameKdf(p.kdf, peek.kdf) ? derived : null);
    if (!key) throw new TumblerError('PROFILE_CHANGED', `profile "${o.profile}" was re-enrolled meanwhile; run the command again`);
    const service = pickService(p, o.service);
    const family = p.server.family;
    const local = await deps.localAddress(p.server.address, family);
    const candidates = boundCandidates({ family, publicAddress: o.publicAddress, observedAddress: p.observedAddress, localAddress: local });
    const sequence: Sequence = { ports: p.sequence.ports, tags: p.sequence.tags };

    for (const offset of offsetsToTry(p.clockOffsetMs)) {
      let lastSec = -1;
      for (const cand of candidates) {
        // Every new knock on a sequence carries a later second than the previous one (§9).
        const nowSec = Math.max(Math.floor((deps.now() + offset) / 1000), lastSec + 1);
        lastSec = nowSec;
        deps.note?.(`knocking on ${p.server.address} bound to ${cand.address} (${cand.source} address)`);
        const got = await knockOnce(p, key, sequence, service.id, nowSec, cand, local, timeoutMs, deps);
        if (!got) continue;
        const { reply, atMs } = got;
        const observedAddress = addressText(reply.observed);
        const clockOffsetMs = Math.round(reply.serverTimeMs - atMs);
        const next: Profile = {
          ...p,
          sequence: { ports: [...reply.next.ports], tags: [...reply.next.tags] },
          clockOffsetMs,
          observedAddress,
          lastGrant: { port: reply.grantedPort, service: service.name, expiresAt: reply.expiresAt },
        };
        await saveProfile(o.dir, next, { now: deps.now });
        return {
          profile: p.name, service: service.name, server: p.server.address, port: reply.grantedPort, expiresAt: reply.expiresAt,
          observedAddress, clockOffsetMs, boundAddress: cand.address, boundSource: cand.source,
        };
      }
    }
    throw noReply(p, candidates, deps.now());
  });
}

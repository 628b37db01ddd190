/**
 * The agent's keys, in memory only: one device key per profile, pinned to the KDF parameters it
 * was derived with (a re-enrolled profile with a new salt does not get the old key), each with an
 * optional lifetime. A forgotten or expired key is overwritten with zeros before it is dropped;
 * callers get copies, so a `lock` during a knock cannot corrupt that knock's key. Bounded in size.
 */
import { TumblerError } from '../../shared/errors.js';
import { LIFETIME_DEFAULT, LIFETIME_UNTIL_LOCKED, type KdfPin, type UnlockedEntry } from './protocol.js';

/** The most profiles one agent holds keys for. */
export const MAX_KEYS = 256;
/** The longest lifetime a key may be given (and the timer limit of Node is ~24.8 days). */
export const MAX_LIFETIME_SEC = 7 * 86_400;

/** The KDF of a profile as the profile file stores it (salt in base64). */
export interface StoredKdf {
  readonly salt: string;
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

interface Held {
  readonly key: Buffer;
  readonly kdf: KdfPin;
  /** Unix ms when it is forgotten; null = until locked. */
  readonly expiresAt: number | null;
  readonly timer: NodeJS.Timeout | null;
  /** A reply has opened with this key: the password it came from was right. */
  confirmed: boolean;
}

export interface KeyringOptions {
  readonly now: () => number;
  /** Lifetime of a key unlocked without one of its own, seconds; 0 = until locked. */
  readonly defaultLifetimeSec: number;
  /** Called when a key is forgotten by expiry (for the agent's log). */
  readonly onExpire?: (profile: string) => void;
}

const sameKdf = (pin: KdfPin, stored: StoredKdf): boolean =>
  pin.N === stored.N && pin.r === stored.r && pin.p === stored.p && pin.salt.equals(Buffer.from(stored.salt, 'base64'));

export class Keyring {
  private readonly held = new Map<string, Held>();

  constructor(private readonly o: KeyringOptions) {
    if (!Number.isInteger(o.defaultLifetimeSec) || o.defaultLifetimeSec < 0 || o.defaultLifetimeSec > MAX_LIFETIME_SEC) {
      throw new TumblerError('BAD_ARGUMENT', `a key lifetime must be 0 (until locked) up to ${MAX_LIFETIME_SEC} s`);
    }
  }

  /**
   * Holds a copy of `key` for `lifetimeSec` (LIFETIME_DEFAULT: the agent's default;
   * LIFETIME_UNTIL_LOCKED: no expiry); returns the lifetime applied (seconds, 0 = until locked).
   */
  add(profile: string, key: Buffer, kdf: KdfPin, lifetimeSec: number): number {
    if (lifetimeSec !== LIFETIME_UNTIL_LOCKED && (!Number.isInteger(lifetimeSec) || lifetimeSec < 0 || lifetimeSec > MAX_LIFETIME_SEC)) {
      throw new TumblerError('BAD_ARGUMENT', `a key lifetime must be at most ${MAX_LIFETIME_SEC} s`);
    }
    if (!this.held.has(profile) && this.held.size >= MAX_KEYS) throw new TumblerError('AGENT_FULL', `the agent already holds ${MAX_KEYS} keys`);
    this.forget(profile);
    const life = lifetimeSec === LIFETIME_UNTIL_LOCKED ? 0 : lifetimeSec === LIFETIME_DEFAULT ? this.o.defaultLifetimeSec : lifetimeSec;
    const timer = life ? setTimeout(() => this.expire(profile), life * 1000) : null;
    timer?.unref();
    this.held.set(profile, {
      key: Buffer.from(key), kdf: { ...kdf, salt: Buffer.from(kdf.salt) }, expiresAt: life ? this.o.now() + life * 1000 : null, timer, confirmed: false,
    });
    return life;
  }

  /** A copy of the key for `profile` when held, not expired and derived with `kdf`; else null. */
  get(profile: string, kdf: StoredKdf): Buffer | null {
    const h = this.live(profile);
    return h && sameKdf(h.kdf, kdf) ? Buffer.from(h.key) : null;
  }

  has(profile: string): boolean {
    return this.live(profile) !== null;
  }

  /** Marks the key of `profile` as proven by a reply that opened. */
  confirm(profile: string): void {
    const h = this.live(profile);
    if (h) h.confirmed = true;
  }

  confirmed(profile: string): boolean {
    return this.live(profile)?.confirmed ?? false;
  }

  /** Wipes and drops the key of `profile`; true when there was one. */
  forget(profile: string): boolean {
    const h = this.held.get(profile);
    if (!h) return false;
    if (h.timer) clearTimeout(h.timer);
    h.key.fill(0);
    this.held.delete(profile);
    return true;
  }

  forgetAll(): number {
    let n = 0;
    for (const p of [...this.held.keys()]) if (this.forget(p)) n++;
    return n;
  }

  list(): UnlockedEntry[] {
    const now = this.o.now();
    return [...this.held.keys()].sort().flatMap((profile) => {
      const h = this.live(profile);
      return h ? [{ profile, expiresInSec: h.expiresAt === null ? null : Math.max(0, Math.ceil((h.expiresAt - now) / 1000)) }] : [];
    });
  }

  private live(profile: string): Held | null {
    const h = this.held.get(profile);
    if (!h) return null;
    if (h.expiresAt !== null && this.o.now() >= h.expiresAt) {
      this.expire(profile);
      return null;
    }
    return h;
  }

  private expire(profile: string): void {
    if (this.forget(profile)) this.o.onExpire?.(profile);
  }
}

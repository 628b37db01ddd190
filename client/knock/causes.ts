/**
 * Why `tumbler open` got no grant, as one error with one cause and the one action that fixes it
 * (docs/protocol.md §8, README's exit codes). Every gateway address tried ends in an outcome; the
 * most telling one wins: the clock (it is the same for every gateway) → the address the user
 * forced → an address that keeps changing → a server that answers but refuses → silence.
 * Messages name addresses and durations, never a key, sequence or password.
 */
import { TumblerError } from '../../shared/errors.js';
import type { Outcome } from './attempt.js';
import { duration } from './clock.js';

export type Tried = { readonly target: string } & (Outcome | { readonly kind: 'no-route' });

const first = <K extends Tried['kind']>(tried: readonly Tried[], kind: K): Extract<Tried, { kind: K }> | undefined =>
  tried.find((t): t is Extract<Tried, { kind: K }> => t.kind === kind);

/** The error for a run that got no grant. `clockDoubt`: a hint that the clock is off, for the silent case. */
export function noGrant(tried: readonly Tried[], o: { service: string; clockDoubt: string | null }): TumblerError {
  const clock = first(tried, 'clock');
  if (clock) {
    const ahead = clock.offsetMs < 0; // offset = server − local
    return new TumblerError(ahead ? 'CLOCK_AHEAD' : 'CLOCK_BEHIND',
      `this computer's clock is ${duration(clock.offsetMs)} ${ahead ? 'ahead of' : 'behind'} the server's (${clock.target}); ` +
      'set it right (e.g. timedatectl set-ntp true), then run the command again');
  }
  const mismatch = first(tried, 'address-mismatch');
  if (mismatch) {
    return new TumblerError('ADDRESS_MISMATCH', `${mismatch.target} sees this host as ${mismatch.seen}, not ${mismatch.given}: ` +
      'run the command without --public-address');
  }
  const unstable = first(tried, 'address-unstable');
  if (unstable) {
    return new TumblerError('ADDRESS_UNSTABLE', `${unstable.target} saw this host as ${unstable.seen[0]}, then as ${unstable.seen[1]}: ` +
      'this network\'s NAT changes the public address between connections; run the command again, or use another network');
  }
  const refused = first(tried, 'refused');
  if (refused) {
    const v6 = refused.target.includes(':') ? ' over IPv6' : '';
    return new TumblerError('KNOCK_REFUSED', `${refused.target} answers but refused the knock for ${o.service}: ` +
      `ask your admin whether you may open ${o.service}${v6}`);
  }
  const targets = tried.map((t) => t.target).join(', ');
  if (tried.length > 0 && tried.every((t) => t.kind === 'no-route')) {
    return new TumblerError('NO_ROUTE', `no route from this host to ${targets}: check this computer's network connection`);
  }
  if (o.clockDoubt) {
    return new TumblerError('CLOCK_SKEW', `no answer from ${targets}, and the clock looks wrong: ${o.clockDoubt}; ` +
      'set the system clock right (NTP), then run the command again');
  }
  return new TumblerError('SERVER_SILENT', `no answer from ${targets}: the server is down or the network path drops the knock; ` +
    'check that the server is up and reachable from here, then run the command again');
}

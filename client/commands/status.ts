/**
 * `tumbler status <PROFILE>`: what a profile knows, for humans or as JSON.
 * Shows the server, user, services, whether the key is stored, how old the stored sequence is, the
 * clock offset, the observed address and the last grant. Never the key, the KDF salt or the sequence.
 */
import { clockDoubt } from '../knock/clock.js';
import { loadProfile } from '../state/profile.js';
import type { Profile } from '../state/schema.js';
import { dateTime, duration, grantTiming, printJson, profileDir, clockTime } from './context.js';

export interface StatusView {
  profile: string;
  server: string;
  family: 4 | 6;
  user: string;
  services: Record<string, number>;
  keyStored: boolean;
  updatedAt: number;
  sequenceAgeSec: number;
  clockOffsetMs: number;
  clockWarning: string | null;
  observedAddress: string | null;
  lastGrant: { service: string; port: number; expiresAt: number; active: boolean; secondsLeft: number } | null;
}

/** The public view of a profile: an explicit allow-list of fields, so no secret can slip in. */
export function statusView(p: Profile, nowMs: number): StatusView {
  const g = p.lastGrant;
  const t = g ? grantTiming(g.expiresAt, p.clockOffsetMs, nowMs) : null;
  return {
    profile: p.name,
    server: p.server.address,
    family: p.server.family,
    user: p.user,
    services: { ...p.services },
    keyStored: p.key !== undefined,
    updatedAt: p.updatedAt,
    sequenceAgeSec: Math.max(0, Math.round((nowMs - p.updatedAt) / 1000)),
    clockOffsetMs: p.clockOffsetMs,
    clockWarning: clockDoubt(p, nowMs),
    observedAddress: p.observedAddress ?? null,
    lastGrant: g && t ? { service: g.service, port: g.port, expiresAt: g.expiresAt, active: t.leftSec > 0, secondsLeft: t.leftSec } : null,
  };
}

export function statusText(v: StatusView): string {
  const services = Object.entries(v.services).map(([n, id]) => `${n} (${id})`).join(', ');
  const off = v.clockOffsetMs;
  const clock = v.observedAddress === null ? 'offset not measured yet (no reply so far)' : Math.abs(off) < 1000 ? `within a second of the server's (offset ${off} ms)`
    : `${duration(off)} ${off > 0 ? 'behind' : 'ahead of'} the server's (corrected when knocking)`;
  const lines = [
    `profile      ${v.profile}`,
    `server       ${v.server} (IPv${v.family})`,
    `user         ${v.user}`,
    `services     ${services}`,
    `key          ${v.keyStored ? 'stored in the profile' : 'kept off disk (password asked on each open)'}`,
    `sequence     stored ${dateTime(v.updatedAt)} (${duration(v.sequenceAgeSec * 1000)} ago)`,
    `clock        local clock ${clock}`,
    `address      ${v.observedAddress ? `${v.observedAddress} (as the server last saw it)` : 'not yet seen by the server'}`,
  ];
  if (v.lastGrant) {
    const g = v.lastGrant;
    const end = clockTime(g.expiresAt * 1000 - v.clockOffsetMs);
    lines.push(`last grant   ${g.service} on port ${g.port}, ${g.active ? `open until ${end} (${g.secondsLeft} s left)` : `expired at ${end}`}`);
  } else {
    lines.push('last grant   none');
  }
  if (v.clockWarning) lines.push(`warning      ${v.clockWarning}`);
  return `${lines.join('\n')}\n`;
}

export async function runStatus(name: string, o: { json?: boolean }): Promise<void> {
  const v = statusView(await loadProfile(profileDir(), name), Date.now());
  if (o.json) printJson(v);
  else process.stdout.write(statusText(v));
}

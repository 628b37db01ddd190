/**
 * `tumbler status [PROFILE]`: what a profile knows, for humans or as JSON.
 * Shows the gateways, user, services, whether the key is stored or unlocked in the agent, how old
 * the stored sequence is, the clock offset, the address the server saw per family, the gateway that
 * answered last and the last grant. Never the key, its check, the KDF salt or the sequence.
 * Without a profile: the agent, and each profile's key state.
 */
import { isTumblerError } from '../../shared/errors.js';
import { clockDoubt } from '../knock/clock.js';
import { listProfiles, loadProfile } from '../state/profile.js';
import { observedIn, type Profile } from '../state/schema.js';
import { clockTime, dateTime, duration, grantTiming, printJson, profileDir } from './context.js';

/** What the agent says about a profile: null when no agent runs. */
export interface AgentView {
  readonly unlocked: boolean;
  /** Seconds until it forgets the key; null = until locked (or not unlocked). */
  readonly expiresInSec: number | null;
}

interface AgentState {
  readonly pid: number | null;
  readonly unlocked: ReadonlyMap<string, number | null>;
}

async function agentState(): Promise<AgentState> {
  const { callAgent } = await import('../agent/client.js');
  try {
    const l = await callAgent({ op: 'list' }, { timeoutMs: 5_000 });
    return { pid: l.pid, unlocked: new Map(l.unlocked.map((e) => [e.profile, e.expiresInSec])) };
  } catch {
    return { pid: null, unlocked: new Map() };
  }
}

function agentView(a: AgentState, name: string): AgentView | null {
  if (a.pid === null) return null;
  return { unlocked: a.unlocked.has(name), expiresInSec: a.unlocked.get(name) ?? null };
}

function keyText(keyStored: boolean, name: string, agent: AgentView | null): string {
  if (keyStored) return 'stored in the profile';
  if (!agent) return 'kept off disk (password asked on each open; no agent running)';
  if (!agent.unlocked) return `kept off disk, not unlocked (tumbler unlock ${name})`;
  return `kept off disk, unlocked in the agent ${agent.expiresInSec === null ? 'until locked' : `(${duration(agent.expiresInSec * 1000)} left)`}`;
}

export interface StatusView {
  profile: string;
  user: string;
  device: string | null;
  /** Each gateway's addresses, in the order they are tried (after the last one that answered). */
  gateways: string[][];
  lastAnswered: string | null;
  services: Record<string, number>;
  keyStored: boolean;
  /** The agent's view of this profile; null when no agent runs. */
  agent: AgentView | null;
  updatedAt: number;
  sequenceAgeSec: number;
  clockOffsetMs: number;
  clockWarning: string | null;
  /** The address the server last saw this host at, per family. */
  observed: { ipv4: string | null; ipv6: string | null };
  lastGrant: { service: string; server: string; port: number; expiresAt: number; active: boolean; secondsLeft: number } | null;
}

/** The public view of a profile: an explicit allow-list of fields, so no secret can slip in. */
export function statusView(p: Profile, nowMs: number, agent: AgentView | null = null): StatusView {
  const g = p.lastGrant;
  const t = g ? grantTiming(g.expiresAt, p.clockOffsetMs, nowMs) : null;
  return {
    profile: p.name,
    user: p.user,
    device: p.device ?? null,
    gateways: p.gateways.map((x) => [...x]),
    lastAnswered: p.lastAnswered ?? null,
    services: { ...p.services },
    keyStored: p.key !== undefined,
    agent,
    updatedAt: p.updatedAt,
    sequenceAgeSec: Math.max(0, Math.round((nowMs - p.updatedAt) / 1000)),
    clockOffsetMs: p.clockOffsetMs,
    clockWarning: clockDoubt(p, nowMs),
    observed: { ipv4: observedIn(p, 4)?.address ?? null, ipv6: observedIn(p, 6)?.address ?? null },
    lastGrant: g && t ? { service: g.service, server: g.server, port: g.port, expiresAt: g.expiresAt, active: t.leftSec > 0, secondsLeft: t.leftSec } : null,
  };
}

export function statusText(v: StatusView): string {
  const services = Object.entries(v.services).map(([n, id]) => `${n} (${id})`).join(', ');
  const off = v.clockOffsetMs;
  const seen = v.observed.ipv4 ?? v.observed.ipv6;
  const clock = seen === null ? 'offset not measured yet (no reply so far)' : Math.abs(off) < 1000 ? `within a second of the server's (offset ${off} ms)`
    : `${duration(off)} ${off > 0 ? 'behind' : 'ahead of'} the server's (corrected when knocking)`;
  const gateways = v.gateways.map((g, i) => `${i + 1}: ${g.join(', ')}`).join('; ');
  const addresses = [v.observed.ipv4, v.observed.ipv6].filter((a) => a !== null).join(', ');
  const lines = [
    `profile      ${v.profile}`,
    `user         ${v.user}${v.device ? ` (device ${v.device})` : ''}`,
    `gateways     ${gateways}${v.lastAnswered ? ` (last answered: ${v.lastAnswered})` : ''}`,
    `services     ${services}`,
    `key          ${keyText(v.keyStored, v.profile, v.agent)}`,
    `sequence     stored ${dateTime(v.updatedAt)} (${duration(v.sequenceAgeSec * 1000)} ago)`,
    `clock        local clock ${clock}`,
    `address      ${addresses ? `${addresses} (as the server last saw this host)` : 'not yet seen by the server'}`,
  ];
  if (v.lastGrant) {
    const g = v.lastGrant;
    const end = clockTime(g.expiresAt * 1000 - v.clockOffsetMs);
    lines.push(`last grant   ${g.service} on ${g.server} port ${g.port}, ${g.active ? `open until ${end} (${g.secondsLeft} s left)` : `expired at ${end}`}`);
  } else {
    lines.push('last grant   none');
  }
  if (v.clockWarning) lines.push(`warning      ${v.clockWarning}`);
  return `${lines.join('\n')}\n`;
}

export async function runStatus(name: string | undefined, o: { json?: boolean }): Promise<void> {
  const agent = await agentState();
  if (name !== undefined) {
    const v = statusView(await loadProfile(profileDir(), name), Date.now(), agentView(agent, name));
    if (o.json) printJson(v);
    else process.stdout.write(statusText(v));
    return;
  }
  const dir = profileDir();
  const profiles = [];
  for (const n of await listProfiles(dir)) {
    try {
      const p = await loadProfile(dir, n);
      profiles.push({ profile: n, keyStored: p.key !== undefined, agent: agentView(agent, n) });
    } catch (e) {
      profiles.push({ profile: n, error: isTumblerError(e) ? e.code : 'UNREADABLE' });
    }
  }
  if (o.json) return printJson({ agent: agent.pid === null ? null : { pid: agent.pid }, profiles });
  const lines = [`agent        ${agent.pid === null ? 'not running (tumbler agent, or tumbler unlock PROFILE starts one)' : `running (pid ${agent.pid})`}`];
  for (const e of profiles) {
    lines.push(`${e.profile.padEnd(12)} ${'error' in e ? `unusable (${e.error})` : `key ${keyText(e.keyStored, e.profile, e.agent)}`}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

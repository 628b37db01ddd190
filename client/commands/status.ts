/**
 * `tumbler status [PROFILE]`: what a profile knows, for humans or as JSON.
 * Shows the server, user, services, whether the key is stored or unlocked in the agent, how old the
 * stored sequence is, the clock offset, the observed address and the last grant. Never the key, the
 * KDF salt or the sequence. Without a profile: the agent, and each profile's key state.
 */
import { isTumblerError } from '../../shared/errors.js';
import { clockDoubt } from '../knock/clock.js';
import { listProfiles, loadProfile } from '../state/profile.js';
import type { Profile } from '../state/schema.js';
import { dateTime, duration, grantTiming, printJson, profileDir, clockTime } from './context.js';

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
  server: string;
  family: 4 | 6;
  user: string;
  services: Record<string, number>;
  keyStored: boolean;
  /** The agent's view of this profile; null when no agent runs. */
  agent: AgentView | null;
  updatedAt: number;
  sequenceAgeSec: number;
  clockOffsetMs: number;
  clockWarning: string | null;
  observedAddress: string | null;
  lastGrant: { service: string; port: number; expiresAt: number; active: boolean; secondsLeft: number } | null;
}

/** The public view of a profile: an explicit allow-list of fields, so no secret can slip in. */
export function statusView(p: Profile, nowMs: number, agent: AgentView | null = null): StatusView {
  const g = p.lastGrant;
  const t = g ? grantTiming(g.expiresAt, p.clockOffsetMs, nowMs) : null;
  return {
    profile: p.name,
    server: p.server.address,
    family: p.server.family,
    user: p.user,
    services: { ...p.services },
    keyStored: p.key !== undefined,
    agent,
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
    `key          ${keyText(v.keyStored, v.profile, v.agent)}`,
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

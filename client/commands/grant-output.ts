/**
 * How a grant is shown (`tumbler open`, `tumbler proxy -v`), kept apart from the open flow so a
 * grant the agent obtained is printed without loading the knock code: one line for people, or
 * JSON `{profile, service, server, port, expiresAt, observedAddress}`.
 */
import type { OpenResult } from '../knock/open.js';
import { clockTime, grantTiming } from './context.js';

/** "ssh granted on 192.0.2.1 port 51234 until 12:34:56 (30 s)" */
export function grantLine(r: OpenResult, nowMs: number): string {
  const t = grantTiming(r.expiresAt, r.clockOffsetMs, nowMs);
  return `${r.service} granted on ${r.server} port ${r.port} until ${clockTime(t.localEndMs)} (${t.leftSec} s)`;
}

export function grantJson(r: OpenResult): Record<string, unknown> {
  return { profile: r.profile, service: r.service, server: r.server, port: r.port, expiresAt: r.expiresAt, observedAddress: r.observedAddress };
}

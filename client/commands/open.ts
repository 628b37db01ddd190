/**
 * `tumbler open <PROFILE>`: knock, and print the grant as one line or as JSON
 * `{profile, service, server, port, expiresAt, observedAddress}`. Wires the open flow
 * (client/knock/open.ts) to the real clock, randomness, transport and password sources.
 */
import { randomBytes } from 'node:crypto';
import { localAddressFor } from '../knock/local-address.js';
import { openService, type OpenDeps, type OpenResult } from '../knock/open.js';
import { sendKnock } from '../transport/send.js';
import { clockTime, grantTiming, printJson, profileDir } from './context.js';
import { obtainPassword } from './password.js';

export interface OpenCliOptions {
  readonly service?: string;
  readonly json?: boolean;
  readonly timeout?: number;
  readonly publicAddress?: string;
  readonly gateway?: string;
  readonly passwordFile?: string;
  readonly verbose?: boolean;
}

/** Real dependencies. `ttyOnly`: ask the password on /dev/tty (proxy: stdin is the session). */
export function realDeps(o: { passwordFile?: string; ttyOnly?: boolean; verbose?: boolean }): OpenDeps {
  return {
    now: Date.now,
    random: randomBytes,
    transport: sendKnock,
    localAddress: localAddressFor,
    password: () => obtainPassword({ file: o.passwordFile, ttyOnly: o.ttyOnly }),
    note: o.verbose ? (l) => process.stderr.write(`tumbler: ${l}\n`) : undefined,
  };
}

/** "ssh granted on 192.0.2.1 port 51234 until 12:34:56 (30 s)" */
export function grantLine(r: OpenResult, nowMs: number): string {
  const t = grantTiming(r.expiresAt, r.clockOffsetMs, nowMs);
  return `${r.service} granted on ${r.server} port ${r.port} until ${clockTime(t.localEndMs)} (${t.leftSec} s)`;
}

export function grantJson(r: OpenResult): Record<string, unknown> {
  return { profile: r.profile, service: r.service, server: r.server, port: r.port, expiresAt: r.expiresAt, observedAddress: r.observedAddress };
}

export async function run(profile: string, o: OpenCliOptions): Promise<void> {
  const r = await openService(
    { dir: profileDir(), profile, service: o.service, timeoutMs: o.timeout, publicAddress: o.publicAddress, gateway: o.gateway },
    realDeps({ passwordFile: o.passwordFile, verbose: o.verbose }),
  );
  if (o.json) printJson(grantJson(r));
  else process.stdout.write(`${grantLine(r, Date.now())}\n`);
}

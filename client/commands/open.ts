/**
 * `tumbler open <PROFILE>`: knock, and print the grant as one line or as JSON
 * `{profile, service, server, port, expiresAt, observedAddress}`. Wires the open flow
 * (client/knock/open.ts) to the real clock, randomness, transport and password sources.
 */
import { randomBytes } from 'node:crypto';
import { localAddressFor } from '../knock/local-address.js';
import { openService, type OpenDeps } from '../knock/open.js';
import { sendKnock } from '../transport/send.js';
import { printJson, profileDir } from './context.js';
import { grantJson, grantLine } from './grant-output.js';
import { obtainPassword } from './password.js';

export { grantJson, grantLine };

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

export async function run(profile: string, o: OpenCliOptions): Promise<void> {
  const r = await openService(
    { dir: profileDir(), profile, service: o.service, timeoutMs: o.timeout, publicAddress: o.publicAddress, gateway: o.gateway },
    realDeps({ passwordFile: o.passwordFile, verbose: o.verbose }),
  );
  if (o.json) printJson(grantJson(r));
  else process.stdout.write(`${grantLine(r, Date.now())}\n`);
}

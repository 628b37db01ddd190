/**
 * `tumbler proxy <PROFILE> <SERVICE>`: for ssh's ProxyCommand. Knocks (any message goes to
 * stderr; stdout carries only the session), connects to the granted port and copies
 * stdin → socket → stdout until either side ends. A key kept off disk is asked for on /dev/tty.
 */
import { openService } from '../knock/open.js';
import { profileDir } from './context.js';
import { grantLine, realDeps } from './open.js';
import { relay, splice } from './splice.js';

export { splice };

export interface ProxyOptions {
  readonly timeout?: number;
  readonly publicAddress?: string;
  readonly gateway?: string;
  readonly passwordFile?: string;
  readonly verbose?: boolean;
}

export async function run(profile: string, service: string, o: ProxyOptions): Promise<void> {
  const r = await openService(
    { dir: profileDir(), profile, service, timeoutMs: o.timeout, publicAddress: o.publicAddress, gateway: o.gateway },
    realDeps({ passwordFile: o.passwordFile, ttyOnly: true, verbose: o.verbose }),
  );
  if (o.verbose) process.stderr.write(`tumbler: ${grantLine(r, Date.now())}\n`);
  await relay(r.server, r.port);
}

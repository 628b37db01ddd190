/**
 * `tumbler install-helper [--mode setuid|cap]` (as root): installs the raw-socket helper built in
 * this checkout (client/helper/tumbler-helper) to /usr/local/lib/tumbler/tumbler-helper, setuid
 * root or with the cap_net_raw file capability (client/transport/install-helper.ts).
 */
import { TumblerError } from '../../shared/errors.js';
import { DEFAULT_HELPER_PATH, installHelper, type HelperInstallMode } from '../transport/install-helper.js';
import { repoHelperPath } from '../transport/send.js';

export interface InstallOptions {
  readonly mode?: string;
  readonly from?: string;
  readonly to?: string;
}

export async function run(o: InstallOptions): Promise<void> {
  const mode = (o.mode ?? 'setuid') as HelperInstallMode;
  if (mode !== 'setuid' && mode !== 'cap') throw new TumblerError('BAD_ARGUMENT', '--mode must be setuid or cap');
  const dest = await installHelper(o.from ?? repoHelperPath(), o.to ?? DEFAULT_HELPER_PATH, mode);
  process.stdout.write(`installed ${dest} (${mode === 'setuid' ? 'setuid root' : 'cap_net_raw'})\n`);
}

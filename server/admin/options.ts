/**
 * Option sets shared by the commands that issue a bundle (user add, device add, device reenroll)
 * and by the commands that can close live grants (user revoke, device revoke).
 */
import { Option, type Command } from 'commander';

export interface BundleCliOptions {
  passwordFile?: string;
  generate?: boolean;
  out?: string;
  server?: string;
}

export function withBundleOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--password-file <file>', 'read the device password from FILE ("-" for stdin); first line, at least 12 characters').conflicts('generate'))
    .option('--generate', 'generate a strong password (120 bits) and show it once on stderr')
    .option('--out <file>', 'write the enrollment bundle to a new file (mode 0600) instead of stdout')
    .option('--server <address>', 'address the device knocks on (one of [server] addresses; default: the first)')
    .addHelpText('after', '\nWithout --password-file or --generate the password is asked twice on the terminal, without echo.\nThe bundle holds no password and no key; give the password to the user separately.');
}

export const closeGrantsOption = (): Option =>
  new Option('--close-grants', 'also close its live grants now, each by the gateway holding it (otherwise they run out at their expiry)');

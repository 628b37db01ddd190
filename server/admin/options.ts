/**
 * Option sets shared by the commands that issue a bundle (user add, device add, device reenroll)
 * and by the commands that can close live grants (user revoke, device revoke).
 */
import { Option, type Command } from 'commander';

export interface BundleCliOptions {
  passwordFile?: string;
  askPassword?: boolean;
  generate?: boolean;
  out?: string;
  server?: string;
}

export function withBundleOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--password-file <file>', 'read the device password from FILE ("-" for stdin): one line, at least 12 characters, mode 0600')
      .conflicts(['generate', 'askPassword']))
    .addOption(new Option('--ask-password', 'ask the password twice on the terminal (echo off) instead of generating one').conflicts('generate'))
    .option('--generate', 'generate a strong password (120 bits) and show it once on stderr (the default)')
    .option('--out <file>', 'write the enrollment bundle to a new file (mode 0600) instead of stdout')
    .option('--server <address>', 'list only this gateway address in the bundle (default: every gateway of the fleet)')
    .addHelpText('after', '\nBy default a strong password is generated and shown once on stderr: give it to the user over a\n' +
      'separate channel. The bundle holds no password and no key, and lists every gateway address.');
}

export const closeGrantsOption = (): Option =>
  new Option('--close-grants', 'also close its live grants now, each by the gateway holding it (otherwise they run out at their expiry)');

/**
 * The client's password sources, read by the module the admin uses too (shared/password.ts), with
 * the client's error codes: `--password-file` (one line, mode 0600), a terminal with echo off
 * (asked twice at enrollment), or one line from a non-terminal stdin. `tumbler proxy` asks on the
 * controlling terminal (/dev/tty) because its stdin carries the ssh session.
 */
import { openSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';
import { TumblerError } from '../../shared/errors.js';
import { askPassword, readLine, readPasswordFile, type PasswordCodes } from '../../shared/password.js';

export const CLIENT_PASSWORD_CODES: PasswordCodes = {
  file: 'PASSWORD_FILE',
  fileMode: 'PASSWORD_FILE_MODE',
  empty: 'PASSWORD_EMPTY',
  mismatch: 'PASSWORD_MISMATCH',
  interrupted: 'INTERRUPTED',
  unavailable: 'PASSWORD_UNAVAILABLE',
};

export interface PasswordSource {
  /** --password-file */
  readonly file?: string;
  /** Ask twice on a terminal (enrollment). */
  readonly confirm?: boolean;
  /** Use /dev/tty, never stdin (proxy mode: stdin is the data channel). */
  readonly ttyOnly?: boolean;
  readonly prompt?: string;
}

/** The password from the configured source. */
export async function obtainPassword(src: PasswordSource): Promise<string> {
  if (src.file === '-' && src.ttyOnly) throw new TumblerError('BAD_ARGUMENT', 'proxy\'s standard input carries the session: use a password file, not "-"');
  if (src.file !== undefined) return readPasswordFile(src.file, CLIENT_PASSWORD_CODES);
  const ask = { prompt: src.prompt ?? 'Password: ', confirm: src.confirm ?? false, repeatPrompt: 'Repeat the password: ' };
  if (src.ttyOnly) {
    let fd: number;
    try {
      fd = openSync('/dev/tty', 'r+');
    } catch {
      throw new TumblerError('PASSWORD_UNAVAILABLE', 'no terminal to ask the password on; use --password-file');
    }
    const input = new ReadStream(fd);
    const output = new WriteStream(fd);
    try {
      return await askPassword(ask, { input, output }, CLIENT_PASSWORD_CODES);
    } finally {
      input.destroy();
      output.destroy();
    }
  }
  if (process.stdin.isTTY) return askPassword(ask, { input: process.stdin, output: process.stderr }, CLIENT_PASSWORD_CODES);
  return readLine(process.stdin, CLIENT_PASSWORD_CODES);
}

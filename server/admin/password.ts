/**
 * Where a device's password comes from: `--password-file F` (or "-" for stdin), `--generate`
 * (a fresh 120-bit passphrase that the caller shows once), or a no-echo prompt asked twice on the
 * terminal. The password is only ever handed to the KDF; nothing here prints or logs it.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { TumblerError } from '../../shared/errors.js';
import { MIN_PASSWORD_CHARS } from '../../shared/protocol/kdf.js';
import { generatePassphrase } from './passphrase.js';

const MAX_PASSWORD_FILE_BYTES = 4096;

export interface PasswordOptions {
  readonly passwordFile?: string;
  readonly generate?: boolean;
}

export interface ObtainedPassword {
  readonly password: string;
  /** True for `--generate`: the caller must show it once to the admin (stderr). */
  readonly generated: boolean;
}

/** The minimal terminal the prompt needs (process.stdin on a TTY; a fake in tests). */
export interface RawInput {
  readonly isTTY?: boolean;
  readonly isRaw?: boolean;
  setRawMode(raw: boolean): unknown;
  on(event: 'data', fn: (chunk: Buffer | string) => void): unknown;
  removeListener(event: 'data', fn: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface PromptIo {
  readonly input: RawInput;
  readonly output: { write(s: string): unknown };
}

const defaultIo = (): PromptIo => ({ input: process.stdin as unknown as RawInput, output: process.stderr });

export async function obtainPassword(o: PasswordOptions, io: PromptIo = defaultIo()): Promise<ObtainedPassword> {
  if (o.passwordFile !== undefined && o.generate) {
    throw new TumblerError('USAGE', 'use either --password-file or --generate, not both');
  }
  if (o.generate) return { password: generatePassphrase(), generated: true };
  if (o.passwordFile !== undefined) return { password: checkLength(readPasswordFile(o.passwordFile)), generated: false };
  if (!io.input.isTTY) {
    throw new TumblerError('ADMIN_NO_PASSWORD', 'no terminal to ask for the password: use --password-file FILE or --generate');
  }
  const first = checkLength(await promptHidden('Password for the device: ', io));
  const second = await promptHidden('Same password again: ', io);
  if (first !== second) throw new TumblerError('ADMIN_PASSWORD_MISMATCH', 'the two passwords differ');
  return { password: first, generated: false };
}

function checkLength(password: string): string {
  if ([...password].length < MIN_PASSWORD_CHARS) {
    throw new TumblerError('KDF_WEAK_PASSWORD', `password must be at least ${MIN_PASSWORD_CHARS} characters`);
  }
  return password;
}

/** The file's content without one trailing line break; "-" reads stdin. Bounded in size. */
export function readPasswordFile(file: string): string {
  let fd: number;
  try {
    fd = file === '-' ? 0 : openSync(file, 'r');
  } catch (e) {
    throw new TumblerError('ADMIN_PASSWORD_FILE', `cannot read password file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    if (file !== '-' && !fstatSync(fd).isFile()) throw new TumblerError('ADMIN_PASSWORD_FILE', `password file ${file} is not a regular file`);
    const buf = Buffer.alloc(MAX_PASSWORD_FILE_BYTES + 1);
    let len = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, len, buf.length - len, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        if ((e as NodeJS.ErrnoException).code === 'EOF') break;
        throw new TumblerError('ADMIN_PASSWORD_FILE', `cannot read password file ${file}`);
      }
      if (n === 0) break;
      len += n;
      if (len > MAX_PASSWORD_FILE_BYTES) throw new TumblerError('ADMIN_PASSWORD_FILE', `password file ${file} is larger than ${MAX_PASSWORD_FILE_BYTES} bytes`);
    }
    const text = buf.subarray(0, len).toString('utf8').replace(/\r?\n$/, '');
    buf.fill(0);
    if (text.includes('\n')) throw new TumblerError('ADMIN_PASSWORD_FILE', `password file ${file} must hold one line`);
    if (text.length === 0) throw new TumblerError('ADMIN_PASSWORD_FILE', `password file ${file} is empty`);
    return text;
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/**
 * Ask on the terminal with echo off (raw mode): Enter ends, Backspace erases, Ctrl-U clears,
 * Ctrl-C aborts, Ctrl-D on an empty line aborts. Echo is restored on every path.
 */
export function promptHidden(prompt: string, io: PromptIo = defaultIo()): Promise<string> {
  const { input, output } = io;
  return new Promise<string>((resolve, reject) => {
    let typed: string[] = [];
    const wasRaw = input.isRaw ?? false;
    const finish = (err?: TumblerError): void => {
      input.removeListener('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      const value = typed.join('');
      typed = [];
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new TumblerError('ADMIN_INTERRUPTED', 'interrupted'));
        if (ch === '\u0004') {
          if (typed.length === 0) return finish(new TumblerError('ADMIN_NO_PASSWORD', 'no password given'));
          return finish();
        }
        if (ch === '\u007f' || ch === '\b') typed.pop();
        else if (ch === '\u0015') typed = [];
        else if (ch >= ' ') typed.push(ch);
      }
    };
    output.write(prompt);
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}

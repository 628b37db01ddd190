/**
 * Getting a password without showing or storing it, the same way on the client (`tumbler`) and the
 * admin side (`tumblerd`), each with its own error codes (PasswordCodes):
 * - a file (`--password-file FILE`, "-" for stdin): exactly one line (a final line break is
 *   dropped), at most MAX_PASSWORD_BYTES, a regular file that neither group nor others may access
 *   (like ssh's private keys: one sniffed knock makes a password worth guessing offline);
 * - one line from a non-terminal stream;
 * - a terminal, with echo off (raw mode): Enter ends, Backspace erases, Ctrl-U clears, Ctrl-C
 *   aborts, Ctrl-D on an empty line aborts, escape sequences (arrow keys...) are ignored; the
 *   terminal mode is restored on every path. Asked twice when it must be confirmed.
 * Nothing here prints, logs or keeps the password; buffers holding it are zeroed.
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import { TumblerError } from './errors.js';

export const MAX_PASSWORD_BYTES = 4096;

/** Each side's error codes (stable; its exit-code table maps them). */
export interface PasswordCodes {
  /** Unreadable, not a regular file, too large or several lines. */
  readonly file: string;
  /** Group or others may access the file. */
  readonly fileMode: string;
  /** Nothing was given. */
  readonly empty: string;
  /** The two entries differ. */
  readonly mismatch: string;
  /** Ctrl-C at the prompt. */
  readonly interrupted: string;
  /** No terminal to ask on, or the input failed. */
  readonly unavailable: string;
}

/** The minimal terminal the prompt needs (a tty.ReadStream; a fake in tests). */
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

/** The single line of `text` (one final CR/LF dropped), or why not. */
function singleLine(text: string): string | 'empty' | 'lines' {
  const line = text.replace(/\r?\n$/, '');
  if (line.length === 0) return 'empty';
  if (/[\r\n]/.test(line)) return 'lines';
  return line;
}

/** The password in `path` ("-": one line of standard input). */
export async function readPasswordFile(path: string, codes: PasswordCodes, stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  if (path === '-') return readLine(stdin, codes);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (e) {
    throw new TumblerError(codes.file, `cannot read the password file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const buf = Buffer.alloc(MAX_PASSWORD_BYTES + 1);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new TumblerError(codes.file, `the password file ${path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw new TumblerError(codes.fileMode, `the password file ${path} is accessible by group or others; chmod 600 ${path}`);
    }
    let len = 0;
    for (let n = -1; n !== 0 && len < buf.length; len += n) n = (await fh.read(buf, len, buf.length - len, null)).bytesRead;
    if (len > MAX_PASSWORD_BYTES) throw new TumblerError(codes.file, `the password file ${path} is larger than ${MAX_PASSWORD_BYTES} bytes`);
    const line = singleLine(buf.subarray(0, len).toString('utf8'));
    if (line === 'empty') throw new TumblerError(codes.empty, `the password file ${path} is empty`);
    if (line === 'lines') throw new TumblerError(codes.file, `the password file ${path} must hold one line`);
    return line;
  } catch (e) {
    if (e instanceof TumblerError) throw e;
    throw new TumblerError(codes.file, `cannot read the password file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  } finally {
    buf.fill(0);
    await fh.close();
  }
}

/** One line from a non-terminal stream (to its first newline or its end). */
export function readLine(input: NodeJS.ReadableStream, codes: PasswordCodes): Promise<string> {
  return new Promise((resolve, reject) => {
    let acc = Buffer.alloc(0);
    const done = (err: TumblerError | null): void => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('error', onError);
      input.pause();
      if (err) {
        acc.fill(0);
        return reject(err);
      }
      const nl = acc.indexOf(0x0a);
      const line = (nl >= 0 ? acc.subarray(0, nl) : acc).toString('utf8').replace(/\r$/, '');
      acc.fill(0);
      if (!line) reject(new TumblerError(codes.empty, 'no password given on standard input'));
      else resolve(line);
    };
    const onData = (d: Buffer | string): void => {
      const next = Buffer.concat([acc, Buffer.isBuffer(d) ? d : Buffer.from(d)]);
      acc.fill(0);
      acc = next;
      if (acc.includes(0x0a)) done(null);
      else if (acc.length > MAX_PASSWORD_BYTES) done(new TumblerError(codes.file, 'password line too long'));
    };
    const onEnd = (): void => done(null);
    const onError = (): void => done(new TumblerError(codes.unavailable, 'cannot read the password from standard input'));
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    input.resume();
  });
}

/** Reads one line from a terminal with echo off (see the header for the keys). */
export function promptHidden(prompt: string, io: PromptIo, codes: PasswordCodes): Promise<string> {
  const { input, output } = io;
  return new Promise<string>((resolve, reject) => {
    let typed: string[] = [];
    let escape: 'none' | 'start' | 'csi' = 'none';
    const wasRaw = input.isRaw ?? false;
    const finish = (err?: TumblerError): void => {
      input.removeListener('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      const value = typed.join('');
      typed = [];
      if (err) reject(err);
      else if (!value) reject(new TumblerError(codes.empty, 'no password given'));
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        // Escape sequences: ESC [ params final, or ESC O x, or ESC x.
        if (escape === 'start') {
          escape = ch === '[' || ch === 'O' ? 'csi' : 'none';
          continue;
        }
        if (escape === 'csi') {
          if (ch >= '@' && ch <= '~') escape = 'none';
          continue;
        }
        if (ch === '\u001b') escape = 'start';
        else if (ch === '\r' || ch === '\n') return finish();
        else if (ch === '\u0003') return finish(new TumblerError(codes.interrupted, 'interrupted'));
        else if (ch === '\u0004') return finish(typed.length ? undefined : new TumblerError(codes.empty, 'no password given'));
        else if (ch === '\u007f' || ch === '\b') typed.pop();
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

export interface AskOptions {
  readonly prompt: string;
  /** Ask a second time and compare (enrollment). */
  readonly confirm?: boolean;
  readonly repeatPrompt?: string;
  /** Runs on the first entry before it is confirmed (e.g. the length rule). */
  readonly check?: (password: string) => void;
}

/** The password from a terminal: once, or twice when it must be confirmed. */
export async function askPassword(o: AskOptions, io: PromptIo, codes: PasswordCodes): Promise<string> {
  if (!io.input.isTTY) throw new TumblerError(codes.unavailable, 'no terminal to ask the password on');
  const first = await promptHidden(o.prompt, io, codes);
  o.check?.(first);
  if (o.confirm && (await promptHidden(o.repeatPrompt ?? 'Same password again: ', io, codes)) !== first) {
    throw new TumblerError(codes.mismatch, 'the two passwords differ');
  }
  return first;
}

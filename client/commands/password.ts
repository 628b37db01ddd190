/**
 * Getting the password without showing or storing it: from a file (first line), from a terminal
 * with echo off (readline keypress events in raw mode; the prompt goes to the terminal, never to
 * stdout), or as one line from a non-terminal stdin. `tumbler proxy` uses the controlling terminal
 * (/dev/tty) because its stdin carries the ssh session.
 */
import { openSync, promises as fsp } from 'node:fs';
import { emitKeypressEvents } from 'node:readline';
import { ReadStream, WriteStream } from 'node:tty';
import { TumblerError } from '../../shared/errors.js';

const MAX_PASSWORD_BYTES = 4096;

/** First line of `path`, without its line ending. */
export async function readPasswordFile(path: string): Promise<string> {
  let text: string;
  try {
    const fh = await fsp.open(path, 'r');
    try {
      const buf = Buffer.alloc(MAX_PASSWORD_BYTES);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new TumblerError('PASSWORD_FILE', `cannot read the password file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const line = text.split('\n')[0]!.replace(/\r$/, '');
  if (!line) throw new TumblerError('PASSWORD_EMPTY', `the password file ${path} has an empty first line`);
  return line;
}

/** One line from a non-terminal stream (to its first newline or its end). */
export function readLine(input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let acc = Buffer.alloc(0);
    const done = (err: TumblerError | null): void => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('error', onError);
      input.pause();
      if (err) return reject(err);
      const nl = acc.indexOf(0x0a);
      const line = (nl >= 0 ? acc.subarray(0, nl) : acc).toString('utf8').replace(/\r$/, '');
      acc.fill(0);
      if (!line) reject(new TumblerError('PASSWORD_EMPTY', 'no password given on standard input'));
      else resolve(line);
    };
    const onData = (d: Buffer | string): void => {
      acc = Buffer.concat([acc, Buffer.isBuffer(d) ? d : Buffer.from(d)]);
      if (acc.includes(0x0a)) done(null);
      else if (acc.length > MAX_PASSWORD_BYTES) done(new TumblerError('PASSWORD_EMPTY', 'password line too long'));
    };
    const onEnd = (): void => done(null);
    const onError = (): void => done(new TumblerError('PASSWORD_UNAVAILABLE', 'cannot read the password from standard input'));
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', onError);
    input.resume();
  });
}

interface Key { name?: string; ctrl?: boolean; meta?: boolean; sequence?: string }

/** Reads a line from a terminal with echo off. */
export function promptHidden(prompt: string, input: ReadStream, output: NodeJS.WritableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const wasRaw = input.isRaw;
    let chars: string[] = [];
    output.write(prompt);
    emitKeypressEvents(input);
    input.setRawMode(true);
    input.resume();
    const finish = (err: TumblerError | null): void => {
      input.removeListener('keypress', onKey);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      const line = chars.join('');
      chars = [];
      if (err) reject(err);
      else if (!line) reject(new TumblerError('PASSWORD_EMPTY', 'empty password'));
      else resolve(line);
    };
    const onKey = (str: string | undefined, key: Key | undefined): void => {
      const name = key?.name;
      if (key?.ctrl && name === 'c') return finish(new TumblerError('INTERRUPTED', 'interrupted'));
      if (key?.ctrl && name === 'd') return finish(chars.length ? null : new TumblerError('PASSWORD_EMPTY', 'no password given'));
      if (key?.ctrl && name === 'u') { chars = []; return; }
      if (name === 'return' || name === 'enter') return finish(null);
      if (name === 'backspace') { chars.pop(); return; }
      if (key?.ctrl || key?.meta) return;
      if (typeof str === 'string' && str.length > 0 && !/[\x00-\x1f\x7f]/.test(str)) chars.push(str);
    };
    input.on('keypress', onKey);
  });
}

export interface PasswordSource {
  /** --password-file */
  readonly file?: string;
  /** Ask twice on a terminal (enrollment). */
  readonly confirm?: boolean;
  /** Use /dev/tty, never stdin (proxy mode: stdin is the data channel). */
  readonly ttyOnly?: boolean;
  readonly prompt?: string;
}

async function onTerminal(prompt: string, confirm: boolean, input: ReadStream, output: NodeJS.WritableStream): Promise<string> {
  const first = await promptHidden(prompt, input, output);
  if (confirm && (await promptHidden('Repeat the password: ', input, output)) !== first) {
    throw new TumblerError('PASSWORD_MISMATCH', 'the two passwords differ');
  }
  return first;
}

/** The password from the configured source. */
export async function obtainPassword(src: PasswordSource): Promise<string> {
  if (src.file !== undefined) return readPasswordFile(src.file);
  const prompt = src.prompt ?? 'Password: ';
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
      return await onTerminal(prompt, src.confirm ?? false, input, output);
    } finally {
      input.destroy();
      output.destroy();
    }
  }
  if (process.stdin.isTTY) return onTerminal(prompt, src.confirm ?? false, process.stdin, process.stderr);
  return readLine(process.stdin);
}

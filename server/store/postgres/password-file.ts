/**
 * The PostgreSQL password file ([store] password_file): read once, before the worker drops its
 * privileges (the file may be root's), and only when it is safe: a regular file reached without a
 * symlink, mode 0600 or 0400, owned by root or the worker account. Errors: STORE_PASSWORD_FILE.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { TumblerError } from '../../../shared/errors.js';

const MAX_BYTES = 1024;

export function readPasswordFile(path: string, workerUid: number): string {
  const refuse = (why: string): never => {
    throw new TumblerError('STORE_PASSWORD_FILE', `${path}: ${why}`);
  };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return refuse(code === 'ELOOP' ? 'is a symbolic link; point password_file at the file itself' : `cannot open it (${code ?? 'error'})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) refuse('is not a regular file');
    if ((st.mode & 0o7777 & ~0o600) !== 0) refuse(`mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')} lets others read or run it; chmod 0600 it`);
    if (st.uid !== 0 && st.uid !== workerUid) refuse(`is owned by uid ${st.uid}; it must belong to root or the worker account`);
    const buf = Buffer.alloc(MAX_BYTES + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_BYTES) refuse(`is longer than ${MAX_BYTES} bytes`);
    const password = buf.subarray(0, n).toString('utf8').replace(/\r?\n$/, '');
    buf.fill(0);
    if (password.length === 0 || password.includes('\n')) refuse('must hold the password on its one line');
    return password;
  } finally {
    closeSync(fd);
  }
}

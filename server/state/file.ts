/**
 * The files a running daemon publishes for `tumblerd status` and the metrics exporter, next to its
 * pid file and named after it (/run/tumbler/tumblerd.pid → tumblerd.monitor.json, and
 * tumblerd.worker/worker.json in a directory the worker owns), so two daemons with their own pid
 * files never share them.
 *
 * Writing: a temporary file created O_EXCL | O_NOFOLLOW in the same directory, then rename(2) over
 * the old one, so a reader sees the whole previous document or the whole new one, and a link
 * planted under either name is replaced, never followed.
 * Reading: O_NOFOLLOW | O_NONBLOCK (a symlink is refused, a FIFO cannot block the reader), a
 * regular file of bounded size, optionally owned by a given uid (a file the worker hard-linked from
 * elsewhere is not its own), then JSON and a strict shape. Messages never quote the file's bytes.
 */
import { closeSync, constants, fchmodSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TumblerError } from '../../shared/errors.js';
import { checkShape, ShapeError, type Shape } from '../../shared/shape.js';

/** Largest state document read (a worker's is a few KiB). */
const MAX_STATE_BYTES = 256 * 1024;
/** How often both processes publish. */
export const PUBLISH_INTERVAL_MS = 1_000;
/** A document older than this is stale: its process is down, stuck or starved (status and metrics). */
export const STALE_MS = 5_000;

export interface StatePaths {
  /** The monitor's document. */
  readonly monitor: string;
  /** The worker's own directory (created by the monitor, owned by the worker account). */
  readonly workerDir: string;
  /** The worker's document, written after its drop. */
  readonly worker: string;
}

/** Where the daemon whose pid file is `pidFile` publishes its state. */
export function statePaths(pidFile: string): StatePaths {
  const stem = join(dirname(pidFile), basename(pidFile).replace(/\.pid$/, ''));
  const workerDir = `${stem}.worker`;
  return { monitor: `${stem}.monitor.json`, workerDir, worker: join(workerDir, 'worker.json') };
}

/** Replace `file` with `text` atomically (temporary file + rename), never following a link. */
export function writeStateFile(file: string, text: string, mode = 0o644): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let fd: number;
  try {
    fd = openSync(tmp, flags, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    unlinkSync(tmp); // left by a process of ours that died mid-write (unlink removes a link, never its target)
    fd = openSync(tmp, flags, mode);
  }
  try {
    fchmodSync(fd, mode); // the umask (UMask=0077 under systemd) must not decide who may read it
    const bytes = Buffer.from(text);
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
}

/** Remove a state file (the daemon stops); missing is fine. */
export function removeStateFile(file: string): void {
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * Read a published state document: STATE_MISSING (no file), STATE_UNSAFE (a link, not a regular
 * file, not owned by `ownerUid`), STATE_INVALID (too large, not JSON, not the shape).
 */
export function readStateFile<T>(file: string, shape: Shape<T>, o: { ownerUid?: number; maxBytes?: number } = {}): T {
  const max = o.maxBytes ?? MAX_STATE_BYTES;
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TumblerError('STATE_MISSING', `${file} does not exist`);
    if (code === 'ELOOP') throw new TumblerError('STATE_UNSAFE', `${file} is a symbolic link; not reading it`);
    throw new TumblerError('STATE_UNREADABLE', `cannot open ${file}: ${code ?? 'error'}`);
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TumblerError('STATE_UNSAFE', `${file} is not a regular file; not reading it`);
    if (o.ownerUid !== undefined && st.uid !== o.ownerUid) {
      throw new TumblerError('STATE_UNSAFE', `${file} belongs to uid ${st.uid}, not ${o.ownerUid}; not reading it`);
    }
    if (st.size > max) throw new TumblerError('STATE_INVALID', `${file} is larger than ${max} bytes`);
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    if (n > max) throw new TumblerError('STATE_INVALID', `${file} is larger than ${max} bytes`);
    text = buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
  return parseState(file, text, shape);
}

/** JSON, then the shape; a syntax error is reported without the bytes (V8 quotes its input). */
function parseState<T>(file: string, text: string, shape: Shape<T>): T {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new TumblerError('STATE_INVALID', `${file} is not valid JSON`);
  }
  try {
    return checkShape(shape, doc);
  } catch (e) {
    if (e instanceof ShapeError) throw new TumblerError('STATE_INVALID', `${file} has not the expected shape: ${e.message}`);
    throw e;
  }
}

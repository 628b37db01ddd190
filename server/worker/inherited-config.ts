/**
 * The worker's config: the exact text the monitor read and parsed, handed over on an inherited
 * descriptor (server/monitor/supervisor.ts, WORKER_CONFIG_FD) and parsed here with the same
 * parser. The worker never reads the file, so an edit of tumblerd.toml cannot make the worker
 * and the monitor disagree (both change at the next `tumblerd run`). Bounded in size and time.
 * Errors: CONFIG_UNREADABLE, and the parser's CONFIG_* codes.
 */
import { Socket } from 'node:net';
import { TumblerError } from '../../shared/errors.js';
import { MAX_CONFIG_BYTES } from '../config/limits.js';
import { parseConfig } from '../config/parse.js';
import type { TumblerConfig } from '../config/types.js';

const READ_TIMEOUT_MS = 10_000;

/** Read the config text from `fd` to its end and parse it; `file` names it in messages. */
export async function readInheritedConfig(fd: number, file: string): Promise<TumblerConfig> {
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const input = new Socket({ fd, readable: true, writable: false });
    const fail = (why: string): void => {
      clearTimeout(timer);
      input.destroy();
      reject(new TumblerError('CONFIG_UNREADABLE', `${file}: the config from the monitor (fd ${fd}): ${why}`));
    };
    const timer = setTimeout(() => fail('not received in time'), READ_TIMEOUT_MS);
    input.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_CONFIG_BYTES) fail(`larger than ${MAX_CONFIG_BYTES} bytes`);
      else chunks.push(d);
    });
    input.on('error', (e) => fail((e as NodeJS.ErrnoException).code ?? 'read failed'));
    input.on('end', () => {
      clearTimeout(timer);
      input.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
  return parseConfig(text, file);
}

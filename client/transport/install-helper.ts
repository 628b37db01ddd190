/**
 * Installs the compiled raw-socket helper where the client finds it, owned by root, either setuid
 * root (mode 4755) or mode 0755 with the cap_net_raw file capability (`setcap cap_net_raw+ep`).
 * The copy is prepared under a temporary name in the target directory and renamed into place, so
 * a half-installed or privileged-but-wrong file is never visible under the final name.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsc } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TumblerError } from '../../shared/errors.js';

export const DEFAULT_HELPER_PATH = '/usr/local/lib/tumbler/tumbler-helper';

export type HelperInstallMode = 'setuid' | 'cap';

export interface InstallHelperOptions {
  /** setcap binary (found on PATH by default). */
  setcapPath?: string;
}

function runSetcap(setcap: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(setcap, ['cap_net_raw+ep', file], { stdio: ['ignore', 'ignore', 'pipe'], shell: false });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 512) stderr += d.toString('utf8');
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT'
        ? new TumblerError('SETCAP_MISSING', 'setcap not found (install libcap2-bin)', { cause: e })
        : new TumblerError('INSTALL_FAILED', 'cannot run setcap', { cause: e }));
    });
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new TumblerError('INSTALL_FAILED', `setcap failed: ${stderr.split('\n')[0] ?? ''}`));
    });
  });
}

/** Copies `src` to `dest` as root-owned and privileged per `mode`; returns `dest`. Needs root. */
export async function installHelper(src: string, dest: string = DEFAULT_HELPER_PATH, mode: HelperInstallMode = 'setuid',
  opts: InstallHelperOptions = {}): Promise<string> {
  if (mode !== 'setuid' && mode !== 'cap') throw new TumblerError('INSTALL_FAILED', 'mode must be setuid or cap');
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) {
    throw new TumblerError('INSTALL_NOT_ROOT', 'installing the helper needs root (sudo tumbler install-helper)');
  }
  let data: Buffer;
  try {
    data = await fsp.readFile(src);
  } catch (e) {
    throw new TumblerError('HELPER_MISSING', `helper binary not found at ${src} (run npm run build)`, { cause: e });
  }
  const dir = dirname(dest);
  await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = join(dir, `.${basename(dest)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o700);
  try {
    try {
      await fh.writeFile(data);
      await fh.chown(0, 0);
      // chmod after chown: chown clears the setuid bit.
      await fh.chmod(mode === 'setuid' ? 0o4755 : 0o755);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (mode === 'cap') await runSetcap(opts.setcapPath ?? 'setcap', tmp);
    await fsp.rename(tmp, dest);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    if (e instanceof TumblerError) throw e;
    throw new TumblerError('INSTALL_FAILED', `cannot install helper at ${dest}`, { cause: e });
  }
  const d = await fsp.open(dir, fsc.O_RDONLY);
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return dest;
}

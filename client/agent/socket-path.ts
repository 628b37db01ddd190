/**
 * Where the agent's socket lives, and the checks both sides make before trusting it (the first
 * line of defence, as for ssh-agent; the peer's uid is checked on every connection as well):
 *  - $TUMBLER_AGENT_SOCK when set (an absolute path), else
 *  - $XDG_RUNTIME_DIR/tumbler/agent.sock (a per-user tmpfs, 0700, removed at logout), else
 *  - /tmp/tumbler-<uid>/agent.sock.
 * The directory holding it must be a real directory (not a symlink) owned by this user with no
 * group or other permission bits; the agent creates it so (0700) and makes the socket 0600.
 * client/connector/tumbler-connect.c computes the same path and makes the same checks.
 */
import { lstatSync, promises as fsp } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { TumblerError } from '../../shared/errors.js';

export const AGENT_SOCKET_NAME = 'agent.sock';

const myUid = (): number => process.getuid?.() ?? -1;

export function agentSocketPath(env: NodeJS.ProcessEnv = process.env, uid: number = myUid()): string {
  const forced = env.TUMBLER_AGENT_SOCK;
  if (forced) {
    if (!isAbsolute(forced)) throw new TumblerError('AGENT_UNSAFE', 'TUMBLER_AGENT_SOCK must be an absolute path');
    return forced;
  }
  const runtime = env.XDG_RUNTIME_DIR;
  const dir = runtime && isAbsolute(runtime) ? join(runtime, 'tumbler') : `/tmp/tumbler-${uid}`;
  return join(dir, AGENT_SOCKET_NAME);
}

/**
 * Throws AGENT_UNSAFE unless `dir` is a directory (not a link) of `uid` with mode 0700 or narrower.
 * Synchronous: one lstat, and the CLI's agent path need not load fs/promises.
 */
export function checkPrivateDir(dir: string, uid: number = myUid()): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TumblerError('AGENT_UNAVAILABLE', `no agent is running (${dir} does not exist)`);
    throw new TumblerError('AGENT_UNSAFE', `cannot inspect ${dir} (${code ?? 'error'})`);
  }
  if (!st.isDirectory()) throw new TumblerError('AGENT_UNSAFE', `${dir} is not a directory`);
  if (st.uid !== uid) throw new TumblerError('AGENT_UNSAFE', `${dir} belongs to uid ${st.uid}, not to you (uid ${uid})`);
  if ((st.mode & 0o077) !== 0) throw new TumblerError('AGENT_UNSAFE', `${dir} is open to group or others (mode ${(st.mode & 0o777).toString(8)})`);
}

/** The agent's side: create the socket's directory 0700 when missing, then insist on the checks. */
export async function preparePrivateDir(socketPath: string): Promise<void> {
  const dir = dirname(socketPath);
  try {
    await fsp.mkdir(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new TumblerError('AGENT_UNSAFE', `cannot create ${dir} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  checkPrivateDir(dir);
}

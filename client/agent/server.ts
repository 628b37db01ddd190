/**
 * The agent's listener: a Unix socket (0600, in a 0700 directory of this user), and on every
 * connection, before a byte is read, the kernel's record of the peer (SO_PEERCRED): a process of
 * another uid — root included — is disconnected with nothing sent. Then one request frame (size
 * capped, read within a deadline), one answer, close. A stale socket left by a dead agent is
 * replaced; a live one is AGENT_RUNNING; something that is not a socket is never removed.
 */
import { promises as fsp } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { TumblerError } from '../../shared/errors.js';
import { readFrame } from './frame-io.js';
import { preparePrivateDir } from './socket-path.js';

/** Connections served at once; more are closed by the kernel-side listener at accept. */
export const MAX_AGENT_CONNECTIONS = 64;
/** A client must send its whole request within this time. */
export const REQUEST_DEADLINE_MS = 10_000;

export interface AgentServerOptions {
  readonly socketPath: string;
  /** The only uid served (this process's own). */
  readonly uid: number;
  /** The connecting process's uid (SO_PEERCRED). */
  readonly peerUid: (sock: Socket) => number;
  /** Answers one request body with a complete reply frame. */
  readonly answer: (body: Buffer) => Promise<Buffer>;
  /** Told about each refused peer (for the agent's log). */
  readonly refused?: (uid: number) => void;
}

/** Resolves true when something accepts connections at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await fsp.lstat(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) throw new TumblerError('AGENT_UNSAFE', `${path} exists and is not a socket; not touching it`);
  if (await answers(path)) throw new TumblerError('AGENT_RUNNING', `an agent is already running on ${path}`);
  await fsp.rm(path, { force: true });
}

async function serve(sock: Socket, o: AgentServerOptions): Promise<void> {
  let uid: number;
  try {
    uid = o.peerUid(sock);
  } catch {
    uid = -1;
  }
  if (uid !== o.uid) {
    sock.destroy();
    o.refused?.(uid);
    return;
  }
  let reply: Buffer;
  try {
    const body = await readFrame(sock, REQUEST_DEADLINE_MS);
    reply = await o.answer(body);
  } catch {
    sock.destroy(); // a broken frame or a stalled client: nothing to answer
    return;
  }
  sock.end(reply);
}

/** Listens on o.socketPath; resolves once the socket is in place with mode 0600. */
export async function listenAgent(o: AgentServerOptions): Promise<Server> {
  await preparePrivateDir(o.socketPath);
  await clearStaleSocket(o.socketPath);
  const server = createServer({ allowHalfOpen: false }, (sock) => {
    sock.on('error', () => undefined);
    void serve(sock, o);
  });
  server.maxConnections = MAX_AGENT_CONNECTIONS;
  const oldMask = process.umask(0o177); // the socket is born 0600
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new TumblerError('AGENT_LISTEN', `cannot listen on ${o.socketPath} (${e.code ?? e.message})`)));
      server.listen(o.socketPath, () => resolve());
    });
  } finally {
    process.umask(oldMask);
  }
  await fsp.chmod(o.socketPath, 0o600);
  return server;
}

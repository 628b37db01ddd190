/**
 * `tumbler agent`: holds unlocked device keys in memory and knocks for the `tumbler` CLI and the
 * `tumbler-connect` ssh connector of the same user. Before any key can arrive it refuses to run
 * with Node's inspector open, claims SIGUSR1 (which would otherwise open the inspector: SIGUSR1
 * forgets every key instead) and makes itself non-dumpable (no core file; no ptrace or
 * /proc/PID/mem from other processes of the user). Keys never reach a file or a log line: the log
 * says only that the agent started or stopped and how many keys it forgot. SIGTERM, SIGINT and
 * SIGHUP forget every key, let running knocks finish (bounded) and exit 0; so does the socket
 * file being removed or replaced (e.g. $XDG_RUNTIME_DIR cleared at logout).
 */
import { promises as fsp } from 'node:fs';
import inspector from 'node:inspector';
import type { Server } from 'node:net';
import { TumblerError } from '../../shared/errors.js';
import { peerCredentials, setNotDumpable } from '../../shared/native/index.js';
import { openService } from '../knock/open.js';
import { realDeps } from '../commands/open.js';
import { profileDir } from '../commands/context.js';
import { loadProfile } from '../state/profile.js';
import { answerRequest, type AgentContext } from './handlers.js';
import { Keyring } from './keyring.js';
import { SerialQueues } from './serial.js';
import { listenAgent } from './server.js';

/** How often the agent checks that its socket file is still its own. */
const SOCKET_WATCH_MS = 2_000;
/** On stop, how long running knocks may take to finish (their state is durable either way). */
const DRAIN_MS = 15_000;

export interface AgentRunOptions {
  readonly socketPath: string;
  /** Lifetime of a key unlocked without its own, seconds (0 = until locked). */
  readonly defaultLifetimeSec: number;
  /** One line for the agent's log (stderr). */
  readonly log: (line: string) => void;
  /** Called once the socket accepts connections. */
  readonly ready?: (pid: number) => void;
}

/** Makes the process safe to hold keys, or throws (AGENT_INSPECTOR, NATIVE_*). */
function harden(onUsr1: () => void): void {
  if (inspector.url() !== undefined) throw new TumblerError('AGENT_INSPECTOR', 'refusing to hold keys with the Node inspector open (--inspect)');
  process.on('SIGUSR1', onUsr1);
  setNotDumpable();
}

export async function runAgent(o: AgentRunOptions): Promise<void> {
  const keyring = new Keyring({
    now: Date.now, defaultLifetimeSec: o.defaultLifetimeSec, onExpire: () => o.log('a key reached its lifetime and was forgotten'),
  });
  harden(() => o.log(`SIGUSR1: forgot ${keyring.forgetAll()} key(s)`));
  const queues = new SerialQueues();
  let server: Server | null = null;
  let stopping = false;

  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const n = keyring.forgetAll();
    o.log(`stopping (${why}); forgot ${n} key(s)`);
    server?.close();
    const until = Date.now() + DRAIN_MS;
    while (queues.busy > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await removeIfOurs();
    process.exit(0);
  };

  const ctx: AgentContext = {
    dir: profileDir(), keyring, queues, loadProfile, openService, pid: process.pid,
    openDeps: () => realDeps({}),
    stop: () => void stop('asked to stop'),
  };
  server = await listenAgent({
    socketPath: o.socketPath,
    uid: process.getuid!(),
    peerUid: (sock) => peerCredentials(sock).uid,
    answer: (body) => answerRequest(body, ctx),
    refused: (uid) => o.log(`refused a connection from uid ${uid}`),
  });
  const ino = (await fsp.lstat(o.socketPath)).ino;
  async function removeIfOurs(): Promise<void> {
    const st = await fsp.lstat(o.socketPath).catch(() => null);
    if (st?.ino === ino) await fsp.rm(o.socketPath, { force: true });
  }
  setInterval(() => {
    void fsp.lstat(o.socketPath).then((st) => st.ino === ino, () => false).then((ours) => {
      if (!ours) void stop('its socket was removed or replaced');
    });
  }, SOCKET_WATCH_MS).unref();
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void stop(sig));
  process.title = 'tumbler-agent';
  o.log(`listening on ${o.socketPath} (pid ${process.pid})`);
  o.ready?.(process.pid);
}

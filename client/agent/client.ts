/**
 * Talking to the agent from `tumbler`: find its socket, check the directory is this user's own
 * (and, before sending a key, that the process listening is this user's: SO_PEERCRED), send one
 * request, read one answer. Only `net` is loaded: asking the agent must cost next to nothing.
 * No agent (no socket, nothing listening) is AGENT_UNAVAILABLE; an agent's failure is rethrown as
 * the TumblerError it reported, so exit codes are the same as without the agent.
 */
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { TumblerError, isTumblerError } from '../../shared/errors.js';
import type { OpenResult } from '../knock/open.js';
import { readFrame } from './frame-io.js';
import { decodeReply, encodeRequest, type AgentAnswers, type AgentOp, type AgentRequest } from './protocol.js';
import { agentSocketPath, checkPrivateDir } from './socket-path.js';

/** Connecting to a local socket is immediate; anything slower is no agent worth waiting for. */
const CONNECT_TIMEOUT_MS = 2_000;
/** An open may take several rounds of knocks (3 sends, up to 2 addresses and 2 clock offsets). */
const ANSWER_TIMEOUT_MS = 120_000;

export interface AgentCallOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Check the listener's uid first (SO_PEERCRED), as before sending a key. */
  readonly checkPeer?: boolean;
  readonly timeoutMs?: number;
}

function dial(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const timer = setTimeout(() => { s.destroy(); reject(new TumblerError('AGENT_UNAVAILABLE', 'the agent does not accept connections')); }, CONNECT_TIMEOUT_MS);
    s.once('connect', () => { clearTimeout(timer); resolve(s); });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const gone = e.code === 'ENOENT' || e.code === 'ECONNREFUSED';
      reject(new TumblerError(gone ? 'AGENT_UNAVAILABLE' : 'AGENT_IO', gone ? 'no agent is running' : `cannot reach the agent (${e.code ?? e.message})`));
    });
  });
}

async function checkListener(s: Socket): Promise<void> {
  const { peerCredentials } = await import('../../shared/native/index.js');
  const uid = peerCredentials(s).uid;
  if (uid !== process.getuid?.()) throw new TumblerError('AGENT_UNSAFE', `the process on the agent socket runs as uid ${uid}, not as you`);
}

/** One request to the agent; resolves its answer or throws its failure as a TumblerError. */
export async function callAgent<K extends AgentOp>(req: AgentRequest & { op: K }, o: AgentCallOptions = {}): Promise<AgentAnswers[K]> {
  const path = agentSocketPath(o.env);
  checkPrivateDir(dirname(path));
  const frame = encodeRequest(req);
  const s = await dial(path);
  try {
    if (o.checkPeer) await checkListener(s);
    s.write(frame);
    const reply = decodeReply(req.op, await readFrame(s, o.timeoutMs ?? ANSWER_TIMEOUT_MS));
    if (!reply.ok) throw new TumblerError(reply.error.code, reply.error.message);
    return reply.answer;
  } finally {
    frame.fill(0);
    s.destroy();
  }
}

/** True when an agent answers on this user's socket. */
export async function agentRunning(env?: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    await callAgent({ op: 'list' }, { env, timeoutMs: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** Reasons to knock without the agent (today's path) rather than fail. */
const FALL_BACK = new Set(['AGENT_UNAVAILABLE', 'AGENT_LOCKED', 'AGENT_VERSION']);

export interface AgentOpen {
  readonly profile: string;
  readonly service?: string;
  readonly timeoutMs?: number;
  readonly publicAddress?: string;
  /** Knock only this gateway address of the profile. */
  readonly gateway?: string;
}

/**
 * Open through the agent. Null when there is no agent or it does not hold this profile's key (the
 * caller knocks itself); `warn` is told when an agent socket was found but is not safe to use.
 */
export async function openThroughAgent(o: AgentOpen, warn: (line: string) => void): Promise<{ server: string; port: number; result: OpenResult } | null> {
  try {
    const a = await callAgent({ op: 'open', profile: o.profile, service: o.service ?? '', timeoutMs: o.timeoutMs ?? 0, publicAddress: o.publicAddress ?? '', gateway: o.gateway ?? '' });
    return { server: a.server, port: a.port, result: a.result as unknown as OpenResult };
  } catch (e) {
    if (isTumblerError(e) && FALL_BACK.has(e.code)) return null;
    if (isTumblerError(e, 'AGENT_UNSAFE')) {
      warn(`not using the agent: ${e.message}`);
      return null;
    }
    throw e;
  }
}

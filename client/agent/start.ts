/**
 * Starting the agent in the background ("on first use": `tumbler unlock` and `tumbler agent
 * --detach`): the same tumbler (this Node, its flags and script) runs `agent` in a new session,
 * with no terminal and nothing but its start-up errors captured; this waits until it answers.
 */
import { spawn } from 'node:child_process';
import { TumblerError } from '../../shared/errors.js';
import { agentRunning, callAgent } from './client.js';

/** How long a starting agent may take to answer. */
const START_DEADLINE_MS = 20_000;

export interface StartOptions {
  /** `--timeout` for the new agent (as typed), if any. */
  readonly timeout?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** The agent's pid: the running one, or one started now. Throws AGENT_START when it cannot start. */
export async function ensureAgent(o: StartOptions = {}): Promise<{ pid: number; started: boolean }> {
  if (await agentRunning(o.env)) return { pid: (await callAgent({ op: 'list' }, { env: o.env })).pid, started: false };
  const args = [...process.execArgv, process.argv[1]!, 'agent', '--quiet', ...(o.timeout ? ['--timeout', o.timeout] : [])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: o.env ?? process.env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { if (stderr.length < 2000) stderr += d.toString(); });
  let exited: number | null = null;
  child.once('exit', (code) => { exited = code ?? 1; });
  const until = Date.now() + START_DEADLINE_MS;
  try {
    while (Date.now() < until) {
      if (exited !== null) {
        const line = stderr.trim().split('\n').pop() ?? '';
        throw new TumblerError('AGENT_START', `the agent could not start (exit ${exited})${line ? `: ${line.replace(/^tumbler: /, '')}` : ''}`);
      }
      if (await agentRunning(o.env)) return { pid: child.pid!, started: true };
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGTERM');
    throw new TumblerError('AGENT_START', `the agent did not answer within ${START_DEADLINE_MS / 1000} s`);
  } finally {
    child.stderr!.destroy();
    child.unref();
  }
}

/**
 * `tumbler agent [--timeout D] [--detach] [--stop] [--quiet]`: run the key agent in the foreground
 * (by hand, or as a systemd user service), start it in the background, or stop the running one.
 */
import { TumblerError } from '../../shared/errors.js';
import { agentSocketPath } from '../agent/socket-path.js';
import { lifetimeSec } from './lifetime.js';

export interface AgentCliOptions {
  readonly timeout?: string;
  readonly detach?: boolean;
  readonly stop?: boolean;
  readonly quiet?: boolean;
}

const say = (line: string): void => { process.stderr.write(`tumbler agent: ${line}\n`); };

export async function run(o: AgentCliOptions): Promise<void> {
  if (o.stop) {
    const { callAgent } = await import('../agent/client.js');
    try {
      await callAgent({ op: 'stop' });
      process.stdout.write('agent stopped; it forgot every key\n');
    } catch (e) {
      if (e instanceof TumblerError && e.code === 'AGENT_UNAVAILABLE') process.stdout.write('no agent is running\n');
      else throw e;
    }
    return;
  }
  const life = lifetimeSec(o.timeout);
  if (o.detach) {
    const { ensureAgent } = await import('../agent/start.js');
    const a = await ensureAgent({ timeout: o.timeout });
    process.stdout.write(`${a.started ? 'agent started' : 'an agent is already running'} (pid ${a.pid}, socket ${agentSocketPath()})\n`);
    return;
  }
  const { runAgent } = await import('../agent/main.js');
  let quiet = false;
  await runAgent({
    socketPath: agentSocketPath(),
    defaultLifetimeSec: life,
    log: (line) => { if (!quiet) say(line); },
    ready: () => { quiet = o.quiet === true; },
  });
}

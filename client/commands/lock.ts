/**
 * `tumbler lock [PROFILE]`: the agent forgets the key of one profile, or every key.
 */
import { TumblerError } from '../../shared/errors.js';
import { callAgent } from '../agent/client.js';

export async function run(profile: string | undefined): Promise<void> {
  let forgotten: number;
  try {
    forgotten = (await callAgent({ op: 'lock', profile: profile ?? '' })).forgotten;
  } catch (e) {
    if (e instanceof TumblerError && e.code === 'AGENT_UNAVAILABLE') {
      process.stdout.write('no agent is running: no key is unlocked\n');
      return;
    }
    throw e;
  }
  if (profile) process.stdout.write(forgotten ? `${profile} locked: the agent forgot its key\n` : `${profile} was not unlocked\n`);
  else process.stdout.write(`the agent forgot ${forgotten} key${forgotten === 1 ? '' : 's'}\n`);
}

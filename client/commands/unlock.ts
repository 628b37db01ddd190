/**
 * `tumbler unlock <PROFILE> [--timeout D] [--password-file F]`: make sure an agent runs (starting
 * one in the background if needed), then, for a profile that keeps its key off disk, ask the
 * password once, derive the key, check it against the profile (PASSWORD_WRONG at once) and hand it
 * to the agent for the lifetime. The password and key stay in this process only as long as that
 * takes; the agent's socket must belong to this user.
 */
import { keyForPassword } from '../knock/password-key.js';
import { callAgent } from '../agent/client.js';
import { LIFETIME_DEFAULT, LIFETIME_UNTIL_LOCKED } from '../agent/protocol.js';
import { ensureAgent } from '../agent/start.js';
import { loadProfile } from '../state/profile.js';
import { duration, profileDir } from './context.js';
import { lifetimeSec } from './lifetime.js';
import { obtainPassword } from './password.js';

export interface UnlockOptions {
  readonly timeout?: string;
  readonly passwordFile?: string;
}

/** Hands an already derived key to the running agent (lifetime as in protocol.ts); returns the lifetime applied (s, 0 = until locked). */
export async function giveKeyToAgent(profile: string, key: Buffer, kdf: { salt: string; N: number; r: number; p: number }, lifetime: number): Promise<number> {
  const a = await callAgent({ op: 'unlock', profile, key, kdf: { ...kdf, salt: Buffer.from(kdf.salt, 'base64') }, lifetimeSec: lifetime }, { checkPeer: true });
  return a.lifetimeSec;
}

export async function run(name: string, o: UnlockOptions): Promise<void> {
  const life = o.timeout === undefined ? LIFETIME_DEFAULT : lifetimeSec(o.timeout) || LIFETIME_UNTIL_LOCKED;
  const p = await loadProfile(profileDir(), name);
  const agent = await ensureAgent();
  if (agent.started) process.stderr.write(`tumbler: started the agent (pid ${agent.pid})\n`);
  if (p.key !== undefined) {
    process.stdout.write(`${name} keeps its key in the profile: the agent knocks with it, no unlocking needed\n`);
    return;
  }
  const password = await obtainPassword({ file: o.passwordFile, prompt: `Password for ${name}: ` });
  const key = await keyForPassword(p, password);
  try {
    const applied = await giveKeyToAgent(name, key, p.kdf, life);
    process.stdout.write(`${name} unlocked ${applied ? `for ${duration(applied * 1000)}` : 'until locked'} (tumbler lock ${name} forgets it)\n`);
  } finally {
    key.fill(0);
  }
}

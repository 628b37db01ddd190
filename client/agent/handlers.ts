/**
 * What the agent does for each request, dispatched by a closed table (protocol.ts names the ops):
 *  open    run the open flow (client/knock/open.ts) for the profile, one knock at a time per
 *          profile, with the key held in memory or the one the profile stores; the next sequence
 *          is stored durably by that flow before this answers
 *  unlock  hold a key (pinned to the profile's KDF) for a lifetime
 *  lock    forget one key or all
 *  list    which profiles are unlocked, and for how long
 *  stop    answer, then forget every key and exit
 * Errors become failure frames carrying the TumblerError code, its message and the `tumbler`
 * exit status; nothing else (no stack, no key material) leaves the agent.
 */
import { TumblerError } from '../../shared/errors.js';
import type { OpenDeps, OpenOptions, OpenResult } from '../knock/open.js';
import type { Profile } from '../state/schema.js';
import { exitCodeFor, EXIT } from '../commands/exit-codes.js';
import type { Keyring } from './keyring.js';
import {
  decodeRequest, encodeAnswer, encodeFailure, type AgentAnswers, type AgentOp, type AgentRequest, type KdfPin,
} from './protocol.js';
import type { SerialQueues } from './serial.js';

export interface AgentContext {
  /** Profiles directory. */
  readonly dir: string;
  readonly keyring: Keyring;
  readonly queues: SerialQueues;
  readonly loadProfile: (dir: string, name: string) => Promise<Profile>;
  readonly openService: (o: OpenOptions, deps: OpenDeps) => Promise<OpenResult>;
  /** The open flow's real dependencies (clock, randomness, transport, local address); no password source. */
  readonly openDeps: () => OpenDeps;
  /** Called after the answer to `stop` is sent. */
  readonly stop: () => void;
  readonly pid: number;
}

type Handler<K extends AgentOp> = (r: Extract<AgentRequest, { op: K }>, ctx: AgentContext) => Promise<AgentAnswers[K]>;

const pinMatches = (pin: KdfPin, p: Profile): boolean =>
  pin.N === p.kdf.N && pin.r === p.kdf.r && pin.p === p.kdf.p && pin.salt.equals(Buffer.from(p.kdf.salt, 'base64'));

const open: Handler<'open'> = (r, ctx) => ctx.queues.run(r.profile, async () => {
  // Without a key in memory, only a profile that stores its key can be opened (the open flow re-reads it).
  if (!ctx.keyring.has(r.profile) && (await ctx.loadProfile(ctx.dir, r.profile)).key === undefined) {
    throw new TumblerError('AGENT_LOCKED', `profile "${r.profile}" keeps its key off disk and is not unlocked in the agent (tumbler unlock ${r.profile})`);
  }
  const copies: Buffer[] = [];
  try {
    const res = await ctx.openService(
      { dir: ctx.dir, profile: r.profile, service: r.service || undefined, timeoutMs: r.timeoutMs || undefined, publicAddress: r.publicAddress || undefined,
        gateway: r.gateway || undefined },
      {
        ...ctx.openDeps(),
        password: undefined,
        unlockedKey: (q) => {
          const k = ctx.keyring.get(q.name, q.kdf);
          if (k) copies.push(k);
          return k;
        },
      },
    );
    if (copies.length) ctx.keyring.confirm(r.profile);
    return { server: res.server, port: res.port, result: { ...res } };
  } catch (e) {
    if (e instanceof TumblerError && e.code === 'SERVER_SILENT' && copies.length && !ctx.keyring.confirmed(r.profile)) {
      throw new TumblerError(e.code, `${e.message}. No reply has confirmed the password this profile was unlocked with yet: ` +
        `if it was mistyped, run tumbler unlock ${r.profile} again`);
    }
    throw e;
  } finally {
    for (const k of copies) k.fill(0);
  }
});

const unlock: Handler<'unlock'> = async (r, ctx) => {
  try {
    const p = await ctx.loadProfile(ctx.dir, r.profile);
    if (!pinMatches(r.kdf, p)) throw new TumblerError('PROFILE_CHANGED', `profile "${r.profile}" was re-enrolled meanwhile; run tumbler unlock again`);
    return { lifetimeSec: ctx.keyring.add(r.profile, r.key, r.kdf, r.lifetimeSec) };
  } finally {
    r.key.fill(0);
  }
};

const HANDLERS: { readonly [K in AgentOp]: Handler<K> } = {
  open,
  unlock,
  lock: async (r, ctx) => ({ forgotten: r.profile ? Number(ctx.keyring.forget(r.profile)) : ctx.keyring.forgetAll() }),
  list: async (_r, ctx) => ({ pid: ctx.pid, unlocked: ctx.keyring.list() }),
  stop: async (_r, ctx) => {
    setImmediate(ctx.stop);
    return {};
  },
};

function failure(e: unknown): Buffer {
  if (e instanceof TumblerError) return encodeFailure({ exitCode: exitCodeFor(e.code), code: e.code, message: e.message.slice(0, 2000) });
  return encodeFailure({ exitCode: EXIT.OTHER, code: 'INTERNAL', message: 'the agent failed on this request' });
}

/** One request body in, one reply frame out (never throws). */
export async function answerRequest(body: Buffer, ctx: AgentContext): Promise<Buffer> {
  let req: AgentRequest;
  try {
    req = decodeRequest(body);
  } catch (e) {
    return failure(e);
  } finally {
    body.fill(0); // an unlock request carries a key
  }
  try {
    const handler = HANDLERS[req.op] as Handler<AgentOp>;
    return encodeAnswer(req.op, await handler(req as never, ctx));
  } catch (e) {
    return failure(e);
  }
}

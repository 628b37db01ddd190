/**
 * What the agent answers (client/agent/handlers.ts), with the open flow and the profile store
 * injected: the closed table (an unknown op is AGENT_BAD_OP), a profile that keeps its key off disk
 * and is not unlocked is AGENT_LOCKED (exit 11), the open flow gets the held key and no password
 * source, one knock at a time per profile, failures keep their codes and exit statuses, a key of
 * the wrong KDF is refused, and the request bytes and key copies are wiped after use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerRequest, type AgentContext } from '../../../../client/agent/handlers.js';
import { Keyring } from '../../../../client/agent/keyring.js';
import { AGENT_HEADER_BYTES, decodeReply, encodeRequest, type AgentOp, type AgentRequest } from '../../../../client/agent/protocol.js';
import { SerialQueues } from '../../../../client/agent/serial.js';
import type { OpenDeps, OpenOptions, OpenResult } from '../../../../client/knock/open.js';
import type { Profile } from '../../../../client/state/schema.js';
import { TumblerError } from '../../../../shared/errors.js';

const KEY = Buffer.alloc(16, 0x42);
const SALT = Buffer.alloc(16, 0x5a);
const KDF = { salt: SALT.toString('base64'), N: 32768, r: 8, p: 1 };

const profile = (name: string, key?: string): Profile => ({
  v: 2, name, gateways: [['192.0.2.1']], user: 'alice', device: 'laptop', kdf: KDF,
  sequence: { ports: [40001, 40002, 40003], tags: [1, 2, 3] }, services: { ssh: 1 }, clockOffsetMs: 0, updatedAt: 0, ...(key ? { key } : {}),
});

function context(open: (o: OpenOptions, deps: OpenDeps) => Promise<OpenResult>) {
  const profiles: Record<string, Profile> = { off: profile('off'), stored: profile('stored', KEY.toString('base64')) };
  let stopped = 0;
  const ctx: AgentContext = {
    dir: '/nonexistent', pid: 4242, keyring: new Keyring({ now: Date.now, defaultLifetimeSec: 0 }), queues: new SerialQueues(),
    loadProfile: async (_d, n) => { const p = profiles[n]; if (!p) throw new TumblerError('PROFILE_NOT_FOUND', 'no such profile'); return p; },
    openService: open,
    openDeps: () => ({ now: Date.now, random: () => Buffer.alloc(0), transport: async () => null, localAddress: async () => '192.0.2.2', password: async () => 'never used' }),
    stop: () => { stopped++; },
  };
  return { ctx, stopped: () => stopped };
}

const result = (o: OpenOptions): OpenResult => ({
  profile: o.profile, service: o.service ?? 'ssh', server: '192.0.2.1', port: 50001, expiresAt: 2_000_000_000, observedAddress: '192.0.2.2',
  clockOffsetMs: 0, boundAddress: '192.0.2.2', boundSource: 'observed',
});

async function ask<K extends AgentOp>(ctx: AgentContext, req: AgentRequest & { op: K }) {
  return decodeReply(req.op, (await answerRequest(encodeRequest(req).subarray(AGENT_HEADER_BYTES), ctx)).subarray(AGENT_HEADER_BYTES));
}

const openReq = (p: string): AgentRequest & { op: 'open' } => ({ op: 'open', profile: p, service: '', timeoutMs: 0, publicAddress: '', gateway: '' });

test('an unknown op is AGENT_BAD_OP; the request body is wiped', async () => {
  const { ctx } = context(async (o) => result(o));
  const body = Buffer.from('0177', 'hex');
  const r = decodeReply('list', (await answerRequest(body, ctx)).subarray(AGENT_HEADER_BYTES));
  assert.deepEqual(r.ok ? null : r.error.code, 'AGENT_BAD_OP');
  assert.deepEqual(body, Buffer.alloc(2));
});

test('a key kept off disk and not unlocked: AGENT_LOCKED, exit 11, and the open flow never runs', async () => {
  let ran = 0;
  const { ctx } = context(async (o) => { ran++; return result(o); });
  const r = await ask(ctx, openReq('off'));
  assert.deepEqual(r.ok ? null : [r.error.code, r.error.exitCode], ['AGENT_LOCKED', 11]);
  assert.equal(ran, 0);
});

test('unlocked: the open flow gets the held key and no password source; the copies are wiped after', async () => {
  const seen: Buffer[] = [];
  const { ctx } = context(async (o, deps) => {
    assert.equal(deps.password, undefined);
    const k = deps.unlockedKey!(profile('off'));
    assert.ok(k);
    seen.push(k);
    assert.deepEqual(k, KEY);
    return result(o);
  });
  const u = await ask(ctx, { op: 'unlock', profile: 'off', key: Buffer.from(KEY), kdf: { salt: SALT, N: 32768, r: 8, p: 1 }, lifetimeSec: 0 });
  assert.deepEqual(u, { ok: true, answer: { lifetimeSec: 0 } });
  const r = await ask(ctx, { ...openReq('off'), service: 'ssh' });
  assert.equal(r.ok && r.answer.port, 50001);
  assert.equal(r.ok && r.answer.result.service, 'ssh');
  assert.deepEqual(seen[0], Buffer.alloc(16), 'the copy handed to the open flow is zeroed afterwards');
  assert.equal(ctx.keyring.confirmed('off'), true);
  const l = await ask(ctx, { op: 'list' });
  assert.deepEqual(l, { ok: true, answer: { pid: 4242, unlocked: [{ profile: 'off', expiresInSec: null }] } });
});

test('a stored key needs no unlocking; open failures keep their code and exit status', async () => {
  const { ctx } = context(async () => { throw new TumblerError('CLOCK_SKEW', 'clock'); });
  const r = await ask(ctx, openReq('stored'));
  assert.deepEqual(r.ok ? null : [r.error.code, r.error.exitCode], ['CLOCK_SKEW', 6]);
  const missing = await ask(ctx, openReq('nosuch'));
  assert.deepEqual(missing.ok ? null : [missing.error.code, missing.error.exitCode], ['PROFILE_NOT_FOUND', 3]);
  const { ctx: c2 } = context(async () => { throw new Error('boom /secret/path'); });
  const internal = await ask(c2, openReq('stored'));
  assert.deepEqual(internal.ok ? null : [internal.error.code, internal.error.message.includes('secret')], ['INTERNAL', false]);
});

test('no reply with a key no reply has confirmed yet: the message says the password may be wrong', async () => {
  const { ctx } = context(async (_o, deps) => {
    deps.unlockedKey!(profile('off')); // the flow takes the key, knocks, hears nothing
    throw new TumblerError('SERVER_SILENT', 'no reply');
  });
  await ask(ctx, { op: 'unlock', profile: 'off', key: Buffer.from(KEY), kdf: { salt: SALT, N: 32768, r: 8, p: 1 }, lifetimeSec: 0 });
  const r = await ask(ctx, openReq('off'));
  assert.equal(r.ok ? null : r.error.exitCode, 5);
  assert.match(r.ok ? '' : r.error.message, /mistyped/);
});

test('unlock with a KDF that is not the profile\'s is PROFILE_CHANGED and holds nothing', async () => {
  const { ctx } = context(async (o) => result(o));
  const r = await ask(ctx, { op: 'unlock', profile: 'off', key: Buffer.from(KEY), kdf: { salt: Buffer.alloc(16, 1), N: 32768, r: 8, p: 1 }, lifetimeSec: 0 });
  assert.equal(r.ok ? null : r.error.code, 'PROFILE_CHANGED');
  assert.equal(ctx.keyring.has('off'), false);
});

test('one knock at a time per profile, other profiles in parallel', async () => {
  let running: Record<string, number> = {};
  let overlap = false;
  const { ctx } = context(async (o) => {
    running[o.profile] = (running[o.profile] ?? 0) + 1;
    if (running[o.profile]! > 1) overlap = true;
    await new Promise((r) => setTimeout(r, 20));
    running[o.profile]!--;
    return result(o);
  });
  ctx.keyring.add('off', KEY, { salt: SALT, N: 32768, r: 8, p: 1 }, 0);
  const all = await Promise.all([ask(ctx, openReq('stored')), ask(ctx, openReq('stored')), ask(ctx, openReq('off')), ask(ctx, openReq('stored'))]);
  assert.ok(all.every((r) => r.ok));
  assert.equal(overlap, false);
  running = {};
});

test('lock forgets one key or all; stop answers, then stops', async () => {
  const { ctx, stopped } = context(async (o) => result(o));
  for (const p of ['a', 'b', 'c']) ctx.keyring.add(p, KEY, { salt: SALT, N: 32768, r: 8, p: 1 }, 0);
  assert.deepEqual(await ask(ctx, { op: 'lock', profile: 'b' }), { ok: true, answer: { forgotten: 1 } });
  assert.deepEqual(await ask(ctx, { op: 'lock', profile: 'b' }), { ok: true, answer: { forgotten: 0 } });
  assert.deepEqual(await ask(ctx, { op: 'lock', profile: '' }), { ok: true, answer: { forgotten: 2 } });
  assert.deepEqual(await ask(ctx, { op: 'stop' }), { ok: true, answer: {} });
  await new Promise((r) => setImmediate(r));
  assert.equal(stopped(), 1);
});

/**
 * The agent's keyring (client/agent/keyring.ts) with an injected clock: lifetimes (the agent's
 * default, an explicit one, until locked), forgetting, the KDF pin, copies handed out, the bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring, MAX_KEYS, MAX_LIFETIME_SEC } from '../../../../client/agent/keyring.js';
import { LIFETIME_DEFAULT, LIFETIME_UNTIL_LOCKED } from '../../../../client/agent/protocol.js';

const KEY = Buffer.alloc(16, 7);
const PIN = { salt: Buffer.alloc(16, 0x5a), N: 32768, r: 8, p: 1 };
const STORED = { salt: PIN.salt.toString('base64'), N: 32768, r: 8, p: 1 };

function ring(defaultLifetimeSec = 3600) {
  let now = 1_000_000;
  const expired: string[] = [];
  const k = new Keyring({ now: () => now, defaultLifetimeSec, onExpire: (p) => expired.push(p) });
  return { k, expired, advance: (ms: number) => { now += ms; } };
}

test('a key is held until its lifetime passes (default, explicit, until locked)', () => {
  const { k, advance } = ring(3600);
  assert.equal(k.add('a', KEY, PIN, LIFETIME_DEFAULT), 3600);
  assert.equal(k.add('b', KEY, PIN, 60), 60);
  assert.equal(k.add('c', KEY, PIN, LIFETIME_UNTIL_LOCKED), 0);
  assert.deepEqual(k.list(), [{ profile: 'a', expiresInSec: 3600 }, { profile: 'b', expiresInSec: 60 }, { profile: 'c', expiresInSec: null }]);
  advance(60_000);
  assert.equal(k.get('b', STORED), null);
  assert.deepEqual(k.get('a', STORED), KEY);
  advance(3_540_000);
  assert.equal(k.has('a'), false);
  assert.deepEqual(k.list(), [{ profile: 'c', expiresInSec: null }]);
  advance(365 * 86_400_000);
  assert.deepEqual(k.get('c', STORED), KEY);
});

test('forget and forgetAll drop keys; get hands out copies', () => {
  const { k } = ring();
  k.add('a', KEY, PIN, 0);
  k.add('b', KEY, PIN, 0);
  const copy = k.get('a', STORED)!;
  copy.fill(0);
  assert.deepEqual(k.get('a', STORED), KEY, 'a caller wiping its copy does not touch the held key');
  assert.equal(k.forget('a'), true);
  assert.equal(k.forget('a'), false);
  assert.equal(k.get('a', STORED), null);
  assert.equal(k.forgetAll(), 1);
  assert.deepEqual(k.list(), []);
});

test('the key is only given for the KDF it was derived with (a re-enrolled profile gets nothing)', () => {
  const { k } = ring();
  k.add('a', KEY, PIN, 0);
  assert.equal(k.get('a', { ...STORED, salt: Buffer.alloc(16, 1).toString('base64') }), null);
  assert.equal(k.get('a', { ...STORED, N: 16384 }), null);
  assert.deepEqual(k.get('a', STORED), KEY);
});

test('a key is confirmed once a reply proved it; re-unlocking resets that', () => {
  const { k } = ring();
  k.add('a', KEY, PIN, 0);
  assert.equal(k.confirmed('a'), false);
  k.confirm('a');
  assert.equal(k.confirmed('a'), true);
  k.add('a', KEY, PIN, 0);
  assert.equal(k.confirmed('a'), false);
});

test('bounds: lifetimes and the number of keys', () => {
  const { k } = ring();
  assert.throws(() => k.add('a', KEY, PIN, MAX_LIFETIME_SEC + 1), { code: 'BAD_ARGUMENT' });
  assert.throws(() => new Keyring({ now: Date.now, defaultLifetimeSec: -1 }), { code: 'BAD_ARGUMENT' });
  for (let i = 0; i < MAX_KEYS; i++) k.add(`p${i}`, KEY, PIN, 0);
  assert.throws(() => k.add('one-more', KEY, PIN, 0), { code: 'AGENT_FULL' });
  k.add('p0', KEY, PIN, 0); // replacing one is fine
  k.forgetAll();
});

/**
 * withProfileLock: concurrent holders in separate processes serialize (no lost updates), a lock
 * left by a dead process is broken, a live holder makes others wait and then fail PROFILE_LOCKED,
 * and the lock is released when fn throws.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withProfileLock } from '../../../../client/state/lock.js';
import { loadProfile, saveProfile } from '../../../../client/state/profile.js';
import { isTumblerError } from '../../../../shared/errors.js';
import { sampleProfile } from './fixtures/sample.js';

const COUNTER = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'lock-counter.ts');
const base = mkdtempSync(join(tmpdir(), 'tmb-lock-'));
after(() => rmSync(base, { recursive: true, force: true }));

function runCounter(dir: string, name: string, times: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', COUNTER, dir, name, String(times)], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

describe('withProfileLock', () => {
  it('serializes 4 processes x 20 read-modify-write increments: final count 80', async () => {
    const dir = join(base, 'count');
    await saveProfile(dir, { ...sampleProfile('ctr'), clockOffsetMs: 0 });
    const codes = await Promise.all([1, 2, 3, 4].map(() => runCounter(dir, 'ctr', 20)));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    assert.equal((await loadProfile(dir, 'ctr')).clockOffsetMs, 80);
    assert.equal(existsSync(join(dir, 'ctr.lock')), false);
  });

  it('breaks a stale lock whose holder pid is dead', async () => {
    const dir = mkdtempSync(join(base, 'stale-'));
    writeFileSync(join(dir, 'p.lock'), `999999999 ${hostname()} 00112233\n`);
    assert.equal(await withProfileLock(dir, 'p', () => 42, { timeoutMs: 2000 }), 42);
    assert.equal(existsSync(join(dir, 'p.lock')), false);
  });

  it('waits for a live holder, then fails PROFILE_LOCKED after the timeout', async () => {
    const dir = mkdtempSync(join(base, 'live-'));
    let release!: () => void;
    const held = withProfileLock(dir, 'p', () => new Promise<void>((r) => { release = r; }));
    await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(withProfileLock(dir, 'p', () => 1, { timeoutMs: 150 }), (e) => isTumblerError(e, 'PROFILE_LOCKED'));
    // A waiter gets it as soon as the holder lets go.
    const waiter = withProfileLock(dir, 'p', () => 'second', { timeoutMs: 5000 });
    release();
    await held;
    assert.equal(await waiter, 'second');
  });

  it('does not break a lock held by a live process on this host', async () => {
    const dir = mkdtempSync(join(base, 'other-'));
    writeFileSync(join(dir, 'p.lock'), `${process.ppid} ${hostname()} 00112233\n`);
    await assert.rejects(withProfileLock(dir, 'p', () => 1, { timeoutMs: 100 }), (e) => isTumblerError(e, 'PROFILE_LOCKED'));
    assert.equal(existsSync(join(dir, 'p.lock')), true);
  });

  it('releases the lock when fn throws, and rejects bad names', async () => {
    const dir = mkdtempSync(join(base, 'throw-'));
    await assert.rejects(withProfileLock(dir, 'p', () => { throw new Error('boom'); }), /boom/);
    assert.equal(existsSync(join(dir, 'p.lock')), false);
    await assert.rejects(withProfileLock(dir, '../x', () => 1), (e) => isTumblerError(e, 'PROFILE_NAME_INVALID'));
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { obtainPassword, promptHidden, readPasswordFile, type PromptIo, type RawInput } from '../../../../server/admin/password.js';

/** A fake terminal: records raw-mode changes and everything written; typed input is fed by the test. */
class FakeTty extends EventEmitter implements RawInput {
  isTTY = true;
  isRaw = false;
  rawHistory: boolean[] = [];
  setRawMode(raw: boolean): this { this.isRaw = raw; this.rawHistory.push(raw); return this; }
  resume(): this { return this; }
  pause(): this { return this; }
}

function io(tty: FakeTty): PromptIo & { written: string[] } {
  const written: string[] = [];
  return { input: tty, output: { write: (s: string) => written.push(s) }, written };
}

test('the prompt reads with echo off, handles backspace and Ctrl-U, restores the terminal, echoes nothing typed', async () => {
  const tty = new FakeTty();
  const t = io(tty);
  const p = promptHidden('pw: ', t);
  tty.emit('data', Buffer.from('xx\u0015correct horsX'));
  tty.emit('data', Buffer.from('\u007fe battery\r'));
  assert.equal(await p, 'correct horse battery');
  assert.deepEqual(tty.rawHistory, [true, false]);
  assert.ok(!t.written.join('').includes('horse'));
});

test('Ctrl-C aborts the prompt and still restores the terminal', async () => {
  const tty = new FakeTty();
  const p = promptHidden('pw: ', io(tty));
  tty.emit('data', 'abc\u0003');
  await assert.rejects(p, { code: 'ADMIN_INTERRUPTED' });
  assert.equal(tty.isRaw, false);
});

test('on a terminal the password is asked twice; a mismatch or a short one is refused', async () => {
  const ask = async (a: string, b: string): Promise<string> => {
    const tty = new FakeTty();
    const p = obtainPassword({}, io(tty));
    tty.emit('data', a + '\r');
    await new Promise((r) => setImmediate(r));
    tty.emit('data', b + '\r');
    return (await p).password;
  };
  assert.equal(await ask('a long enough password', 'a long enough password'), 'a long enough password');
  await assert.rejects(ask('a long enough password', 'a long enough passw0rd'), { code: 'ADMIN_PASSWORD_MISMATCH' });
  const tty = new FakeTty();
  const short = obtainPassword({}, io(tty));
  tty.emit('data', 'short\r');
  await assert.rejects(short, { code: 'KDF_WEAK_PASSWORD' });
});

test('without a terminal, a password file or --generate is required; not both', async () => {
  const tty = new FakeTty();
  tty.isTTY = false;
  await assert.rejects(obtainPassword({}, io(tty)), { code: 'ADMIN_NO_PASSWORD' });
  await assert.rejects(obtainPassword({ generate: true, passwordFile: '/x' }, io(tty)), { code: 'USAGE' });
  const g = await obtainPassword({ generate: true }, io(tty));
  assert.equal(g.generated, true);
  assert.ok(g.password.length >= 24);
});

test('password files: one line, trailing newline dropped; empty, multi-line, missing or oversize refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmb-admin-pw-'));
  try {
    const f = (name: string, text: string | Buffer): string => { const p = join(dir, name); writeFileSync(p, text, { mode: 0o600 }); return p; };
    assert.equal(readPasswordFile(f('a', 'correct horse battery\n')), 'correct horse battery');
    assert.equal(readPasswordFile(f('b', 'correct horse battery\r\n')), 'correct horse battery');
    assert.throws(() => readPasswordFile(f('c', '\n')), { code: 'ADMIN_PASSWORD_FILE' });
    assert.throws(() => readPasswordFile(f('d', 'one\ntwo\n')), { code: 'ADMIN_PASSWORD_FILE' });
    assert.throws(() => readPasswordFile(f('e', Buffer.alloc(5000, 0x61))), { code: 'ADMIN_PASSWORD_FILE' });
    assert.throws(() => readPasswordFile(join(dir, 'missing')), { code: 'ADMIN_PASSWORD_FILE' });
    assert.throws(() => readPasswordFile(dir), { code: 'ADMIN_PASSWORD_FILE' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_PASSWORD_CODES, obtainPassword, type PromptIo, type RawInput } from '../../../../server/admin/password.js';
import { PASSPHRASE_SYMBOLS } from '../../../../server/admin/passphrase.js';
import { promptHidden, readPasswordFile } from '../../../../shared/password.js';

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

test('the prompt reads with echo off, handles backspace, Ctrl-U and arrow keys, restores the terminal, echoes nothing typed', async () => {
  const tty = new FakeTty();
  const t = io(tty);
  const p = promptHidden('pw: ', t, ADMIN_PASSWORD_CODES);
  tty.emit('data', Buffer.from('xx\u0015correct horsX'));
  tty.emit('data', Buffer.from('\u007fe\u001b[D\u001bOA battery\r'));
  assert.equal(await p, 'correct horse battery');
  assert.deepEqual(tty.rawHistory, [true, false]);
  assert.ok(!t.written.join('').includes('horse'));
});

test('Ctrl-C aborts the prompt and still restores the terminal', async () => {
  const tty = new FakeTty();
  const p = promptHidden('pw: ', io(tty), ADMIN_PASSWORD_CODES);
  tty.emit('data', 'abc\u0003');
  await assert.rejects(p, { code: 'ADMIN_INTERRUPTED' });
  assert.equal(tty.isRaw, false);
});

test('--ask-password: asked twice on the terminal; a mismatch or a short one is refused', async () => {
  const ask = async (a: string, b: string): Promise<string> => {
    const tty = new FakeTty();
    const p = obtainPassword({ askPassword: true }, io(tty));
    tty.emit('data', a + '\r');
    await new Promise((r) => setImmediate(r));
    tty.emit('data', b + '\r');
    return (await p).password;
  };
  assert.equal(await ask('a long enough password', 'a long enough password'), 'a long enough password');
  await assert.rejects(ask('a long enough password', 'a long enough passw0rd'), { code: 'ADMIN_PASSWORD_MISMATCH' });
  const tty = new FakeTty();
  const short = obtainPassword({ askPassword: true }, io(tty));
  tty.emit('data', 'short\r');
  await assert.rejects(short, { code: 'KDF_WEAK_PASSWORD' });
  const noTty = new FakeTty();
  noTty.isTTY = false;
  await assert.rejects(obtainPassword({ askPassword: true }, io(noTty)), { code: 'ADMIN_NO_PASSWORD' });
});

test('by default (and with --generate) the password is generated: 120 bits, shown by the caller; sources are exclusive', async () => {
  const tty = new FakeTty();
  tty.isTTY = false;
  for (const o of [{}, { generate: true }]) {
    const g = await obtainPassword(o, io(tty));
    assert.equal(g.generated, true);
    assert.equal(g.password.replace(/-/g, '').length, PASSPHRASE_SYMBOLS);
  }
  await assert.rejects(obtainPassword({ generate: true, passwordFile: '/x' }, io(tty)), { code: 'USAGE' });
  await assert.rejects(obtainPassword({ askPassword: true, passwordFile: '/x' }, io(tty)), { code: 'USAGE' });
});

test('password files: one line, trailing newline dropped; empty, multi-line, missing, oversize or group/world-readable refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmb-admin-pw-'));
  try {
    const f = (name: string, text: string | Buffer, mode = 0o600): string => { const p = join(dir, name); writeFileSync(p, text); chmodSync(p, mode); return p; };
    const read = (p: string): Promise<string> => readPasswordFile(p, ADMIN_PASSWORD_CODES);
    assert.equal(await read(f('a', 'correct horse battery\n')), 'correct horse battery');
    assert.equal(await read(f('b', 'correct horse battery\r\n')), 'correct horse battery');
    assert.equal((await obtainPassword({ passwordFile: f('a2', 'correct horse battery\n') })).generated, false);
    await assert.rejects(read(f('c', '\n')), { code: 'ADMIN_NO_PASSWORD' });
    await assert.rejects(read(f('d', 'one\ntwo\n')), { code: 'ADMIN_PASSWORD_FILE' });
    await assert.rejects(read(f('e', Buffer.alloc(5000, 0x61))), { code: 'ADMIN_PASSWORD_FILE' });
    await assert.rejects(read(join(dir, 'missing')), { code: 'ADMIN_PASSWORD_FILE' });
    await assert.rejects(read(dir), { code: 'ADMIN_PASSWORD_FILE' });
    await assert.rejects(read(f('g', 'correct horse battery\n', 0o640)), { code: 'ADMIN_PASSWORD_FILE_MODE' });
    await assert.rejects(read(f('h', 'correct horse battery\n', 0o604)), { code: 'ADMIN_PASSWORD_FILE_MODE' });
    await assert.rejects(obtainPassword({ passwordFile: f('w', 'short\n') }), { code: 'KDF_WEAK_PASSWORD' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

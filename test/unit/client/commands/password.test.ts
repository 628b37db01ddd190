/**
 * Password sources that need no terminal, as the client reads them (shared/password.ts with the
 * client's codes): a one-line file of mode 0600, one line from a stream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CLIENT_PASSWORD_CODES, obtainPassword } from '../../../../client/commands/password.js';
import { readLine, readPasswordFile } from '../../../../shared/password.js';
import { isTumblerError } from '../../../../shared/errors.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'tumbler-pw-')); });
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string, mode = 0o600): string => { const p = join(dir, name); writeFileSync(p, text); chmodSync(p, mode); return p; };

describe('password sources', () => {
  test('file: one line, without CR/LF; spaces kept; no final newline is fine', async () => {
    assert.equal(await obtainPassword({ file: file('a', ' correct horse \r\n') }), ' correct horse ');
    assert.equal(await obtainPassword({ file: file('b', 'no newline at all') }), 'no newline at all');
  });

  test('file: missing or several lines is PASSWORD_FILE, empty is PASSWORD_EMPTY, group/world-readable is PASSWORD_FILE_MODE', async () => {
    await assert.rejects(obtainPassword({ file: join(dir, 'nope') }), (e) => isTumblerError(e, 'PASSWORD_FILE'));
    await assert.rejects(obtainPassword({ file: file('c', '\n') }), (e) => isTumblerError(e, 'PASSWORD_EMPTY'));
    await assert.rejects(obtainPassword({ file: file('d', 'secret one\nsecret two\n') }), (e) => isTumblerError(e, 'PASSWORD_FILE'));
    await assert.rejects(obtainPassword({ file: file('e', 'correct horse battery\n', 0o644) }), (e) => isTumblerError(e, 'PASSWORD_FILE_MODE'));
    await assert.rejects(obtainPassword({ file: file('f', 'correct horse battery\n', 0o620) }), (e) => isTumblerError(e, 'PASSWORD_FILE_MODE'));
  });

  test('file "-": one line of standard input', async () => {
    const s = new PassThrough();
    const p = readPasswordFile('-', CLIENT_PASSWORD_CODES, s);
    s.end('from stdin\n');
    assert.equal(await p, 'from stdin');
  });

  test('stream: one line, in pieces or to the end', async () => {
    const s = new PassThrough();
    const p = readLine(s, CLIENT_PASSWORD_CODES);
    s.write('correct ');
    s.write('horse\nrest');
    assert.equal(await p, 'correct horse');
    const t = new PassThrough();
    const q = readLine(t, CLIENT_PASSWORD_CODES);
    t.end('last line without newline');
    assert.equal(await q, 'last line without newline');
    const u = new PassThrough();
    const r = readLine(u, CLIENT_PASSWORD_CODES);
    u.end('');
    await assert.rejects(r, (e) => isTumblerError(e, 'PASSWORD_EMPTY'));
  });
});

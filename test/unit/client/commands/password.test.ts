/**
 * Password sources that need no terminal: the first line of a file, one line from a stream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { readLine, readPasswordFile } from '../../../../client/commands/password.js';
import { isTumblerError } from '../../../../shared/errors.js';

let dir: string;
before(() => { dir = mkdtempSync(join(tmpdir(), 'tumbler-pw-')); });
after(() => rmSync(dir, { recursive: true, force: true }));

describe('password sources', () => {
  test('file: the first line, without CR/LF; spaces kept', async () => {
    writeFileSync(join(dir, 'a'), ' correct horse \r\nsecond line\n');
    assert.equal(await readPasswordFile(join(dir, 'a')), ' correct horse ');
    writeFileSync(join(dir, 'b'), 'no newline at all');
    assert.equal(await readPasswordFile(join(dir, 'b')), 'no newline at all');
  });

  test('file: missing is PASSWORD_FILE, empty first line is PASSWORD_EMPTY', async () => {
    await assert.rejects(readPasswordFile(join(dir, 'nope')), (e) => isTumblerError(e, 'PASSWORD_FILE'));
    writeFileSync(join(dir, 'c'), '\nsecret\n');
    await assert.rejects(readPasswordFile(join(dir, 'c')), (e) => isTumblerError(e, 'PASSWORD_EMPTY'));
  });

  test('stream: one line, in pieces or to the end', async () => {
    const s = new PassThrough();
    const p = readLine(s);
    s.write('correct ');
    s.write('horse\nrest');
    assert.equal(await p, 'correct horse');
    const t = new PassThrough();
    const q = readLine(t);
    t.end('last line without newline');
    assert.equal(await q, 'last line without newline');
    const u = new PassThrough();
    const r = readLine(u);
    u.end('');
    await assert.rejects(r, (e) => isTumblerError(e, 'PASSWORD_EMPTY'));
  });
});

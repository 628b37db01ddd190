/** Published state files: atomic replace that never follows a link, and a reader that trusts nothing. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTumblerError } from '../../../../shared/errors.js';
import { int, object, oneOf } from '../../../../shared/shape.js';
import { readStateFile, statePaths, writeStateFile } from '../../../../server/state/file.js';
import { codeOf } from '../../../helpers/error-code.js';

const dir = mkdtempSync(join(tmpdir(), 'tmb-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const shape = object({ format: oneOf(['t']), n: int(0, 100) });
const code = (fn: () => unknown): string => codeOf(fn, 'OK');

test('paths are named after the pid file, so two daemons never share them', () => {
  assert.deepEqual(statePaths('/run/tumbler/tumblerd.pid'), {
    monitor: '/run/tumbler/tumblerd.monitor.json', workerDir: '/run/tumbler/tumblerd.worker', worker: '/run/tumbler/tumblerd.worker/worker.json',
  });
  assert.equal(statePaths('/tmp/x/gw-b.pid').monitor, '/tmp/x/gw-b.monitor.json');
});

test('write: whole documents, the mode asked for whatever the umask, no temporary file left', () => {
  const f = join(dir, 'a.json');
  const old = process.umask(0o077);
  try {
    writeStateFile(f, JSON.stringify({ format: 't', n: 1 }), 0o644);
    writeStateFile(f, JSON.stringify({ format: 't', n: 2 }), 0o644);
  } finally {
    process.umask(old);
  }
  assert.equal(statSync(f).mode & 0o777, 0o644);
  assert.deepEqual(readStateFile(f, shape), { format: 't', n: 2 });
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp')), []);
});

test('write: a link planted at the name is replaced, its target untouched; a stale temporary file is no obstacle', () => {
  const target = join(dir, 'precious');
  writeFileSync(target, 'keep');
  const f = join(dir, 'b.json');
  symlinkSync(target, f);
  writeFileSync(join(dir, `.b.json.${process.pid}.tmp`), 'left by a crash');
  writeStateFile(f, '{"format":"t","n":3}');
  assert.equal(readFileSync(target, 'utf8'), 'keep');
  assert.ok(lstatSync(f).isFile());
  assert.equal(readStateFile(f, shape).n, 3);
});

test('read: missing, a link, a FIFO (without blocking), another owner, too large, not JSON, not the shape', () => {
  assert.equal(code(() => readStateFile(join(dir, 'none.json'), shape)), 'STATE_MISSING');
  const real = join(dir, 'real.json');
  writeStateFile(real, '{"format":"t","n":4}');
  const link = join(dir, 'link.json');
  symlinkSync(real, link);
  assert.equal(code(() => readStateFile(link, shape)), 'STATE_UNSAFE');
  const fifo = join(dir, 'fifo.json');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  assert.equal(code(() => readStateFile(fifo, shape)), 'STATE_UNSAFE');
  assert.equal(code(() => readStateFile(real, shape, { ownerUid: 12345 })), 'STATE_UNSAFE');
  assert.equal(code(() => readStateFile(real, shape, { ownerUid: statSync(real).uid })), 'OK');
  assert.equal(code(() => readStateFile(real, shape, { maxBytes: 5 })), 'STATE_INVALID');
  const secret = join(dir, 'secret.json');
  writeFileSync(secret, 'root:$y$j9T$not-json-at-all');
  try {
    readStateFile(secret, shape);
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isTumblerError(e, 'STATE_INVALID'));
    assert.doesNotMatch(e.message, /root|j9T/, 'the message never quotes the file');
  }
  writeStateFile(real, '{"format":"t","n":4,"extra":1}');
  assert.equal(code(() => readStateFile(real, shape)), 'STATE_INVALID');
  assert.ok(existsSync(real));
});

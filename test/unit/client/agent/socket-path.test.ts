/**
 * Where the agent's socket is (client/agent/socket-path.ts) and the directory checks both sides
 * make: $TUMBLER_AGENT_SOCK, then $XDG_RUNTIME_DIR/tumbler, then /tmp/tumbler-<uid>; a symlink,
 * a file, a directory of another owner or open to others is AGENT_UNSAFE; none is AGENT_UNAVAILABLE.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentSocketPath, checkPrivateDir } from '../../../../client/agent/socket-path.js';

const dir = mkdtempSync(join(tmpdir(), 'tumbler-sockpath-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the socket path: TUMBLER_AGENT_SOCK, else XDG_RUNTIME_DIR/tumbler, else /tmp/tumbler-<uid>', () => {
  assert.equal(agentSocketPath({ TUMBLER_AGENT_SOCK: '/run/x/a.sock', XDG_RUNTIME_DIR: '/run/user/7' }, 7), '/run/x/a.sock');
  assert.equal(agentSocketPath({ XDG_RUNTIME_DIR: '/run/user/7' }, 7), '/run/user/7/tumbler/agent.sock');
  assert.equal(agentSocketPath({ XDG_RUNTIME_DIR: 'relative/dir' }, 7), '/tmp/tumbler-7/agent.sock');
  assert.equal(agentSocketPath({}, 1000), '/tmp/tumbler-1000/agent.sock');
  assert.throws(() => agentSocketPath({ TUMBLER_AGENT_SOCK: 'agent.sock' }, 7), { code: 'AGENT_UNSAFE' });
});

test('the directory must be a real, private directory of this user', () => {
  const uid = process.getuid!();
  const ok = join(dir, 'ok');
  mkdirSync(ok, { mode: 0o700 });
  checkPrivateDir(ok, uid);
  assert.throws(() => checkPrivateDir(join(dir, 'missing'), uid), { code: 'AGENT_UNAVAILABLE' });
  const link = join(dir, 'link');
  symlinkSync(ok, link);
  assert.throws(() => checkPrivateDir(link, uid), { code: 'AGENT_UNSAFE' });
  writeFileSync(join(dir, 'file'), '');
  assert.throws(() => checkPrivateDir(join(dir, 'file'), uid), { code: 'AGENT_UNSAFE' });
  const wide = join(dir, 'wide');
  mkdirSync(wide);
  chmodSync(wide, 0o750);
  assert.throws(() => checkPrivateDir(wide, uid), { code: 'AGENT_UNSAFE' });
  assert.throws(() => checkPrivateDir(ok, uid + 1), { code: 'AGENT_UNSAFE' });
  if (uid === 0) {
    const theirs = join(dir, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    assert.throws(() => checkPrivateDir(theirs, uid), { code: 'AGENT_UNSAFE' });
  }
});

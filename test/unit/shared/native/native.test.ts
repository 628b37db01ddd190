/**
 * The tumbler_native addon against the real kernel: no_new_privs sticks (checked in
 * /proc/self/status of a child), SO_PEERCRED names the connecting process, and a missing fd is a
 * typed error. SO_LOCK_FILTER on real capture sockets is exercised by the worker's netns tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasNoNewPrivs, lockPacketFilters, peerCredentials } from '../../../../shared/native/index.js';

const NATIVE = fileURLToPath(new URL('../../../../shared/native/index.ts', import.meta.url));

test('setNoNewPrivs: the flag is set in the kernel and cannot be taken back', () => {
  const script = `import { setNoNewPrivs, hasNoNewPrivs } from ${JSON.stringify(NATIVE)};
    import { readFileSync } from 'node:fs';
    const before = hasNoNewPrivs();
    setNoNewPrivs();
    const status = /^NoNewPrivs:\\s*(\\d)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1];
    console.log(JSON.stringify({ before, after: hasNoNewPrivs(), status }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { before: false, after: true, status: '1' });
  assert.equal(hasNoNewPrivs(), false, 'the test runner itself is untouched');
});

test('peerCredentials: the uid and pid of the process at the other end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tumbler-native-'));
  const path = join(dir, 's');
  try {
    const seen = await new Promise<{ pid: number; uid: number; gid: number }>((resolve, reject) => {
      const srv = createServer((c) => {
        try {
          resolve(peerCredentials(c));
        } catch (e) {
          reject(e);
        }
        c.destroy();
        srv.close();
      });
      srv.listen(path, () => connect(path).on('error', () => undefined));
    });
    assert.deepEqual(seen, { pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('peerCredentials: a socket without a descriptor is NATIVE_NO_FD', () => {
  assert.throws(() => peerCredentials(new Socket()), { code: 'NATIVE_NO_FD' });
});

test('lockPacketFilters: a process without capture sockets locks none', () => {
  assert.equal(lockPacketFilters(), 0);
});

test('lockPacketFilters: locks the capture socket libpcap opened (root)', { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  const script = `import { createRequire } from 'node:module';
    import { lockPacketFilters } from ${JSON.stringify(NATIVE)};
    const pcap = createRequire(import.meta.url)('pcap');
    pcap.createSession('lo', { filter: 'tcp port 9', buffer_timeout: 0 });
    console.log(lockPacketFilters());
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../../../..', import.meta.url)) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(Number(r.stdout.trim()), 1);
});

test('setNotDumpable: the kernel stops core dumps and same-user ptrace (/proc/PID/mem owned by root)', { skip: process.getuid?.() !== 0 && 'needs root to run as tmbuser' }, () => {
  const script = `import { setNotDumpable, isDumpable } from ${JSON.stringify(NATIVE)};
    import { statSync } from 'node:fs';
    const before = isDumpable();
    setNotDumpable();
    console.log(JSON.stringify({ before, after: isDumpable(), memOwner: statSync('/proc/self/mem').uid }));`;
  const r = spawnSync('setpriv', ['--reuid=tmbuser', '--regid=tmbuser', '--init-groups', '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8', cwd: fileURLToPath(new URL('../../../..', import.meta.url)) });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { before: true, after: false, memOwner: 0 });
});

/**
 * The agent's listener on real Unix sockets with real accounts (root and tmbuser): the socket is
 * 0600 in a 0700 directory; a process of another uid is disconnected before a byte is read or
 * sent (SO_PEERCRED), in both directions (tmbuser → root's listener, root → tmbuser's `tumbler
 * agent`); a stale socket is replaced, a live one or a non-socket is left alone; oversize or cut
 * frames get no answer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listenAgent } from '../../../../client/agent/server.js';
import { decodeReply, encodeAnswer, encodeRequest } from '../../../../client/agent/protocol.js';
import { peerCredentials } from '../../../../shared/native/index.js';

const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const isRoot = process.getuid?.() === 0;
const id = (flag: string): number => Number(spawnSync('id', [flag, 'tmbuser'], { encoding: 'utf8' }).stdout.trim());

/** Connects to `path`, sends `bytes`, resolves with everything received until the peer closes. */
function exchange(path: string, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
    s.on('close', () => resolve(Buffer.concat(got)));
    s.on('connect', () => s.write(bytes));
    setTimeout(() => { s.destroy(); reject(new Error('no close within 15 s')); }, 15_000).unref();
  });
}

/** The same exchange, from a process of tmbuser (async: the listener may live in this process); the bytes it received, hex. */
function exchangeAsTmbuser(path: string, bytes: Buffer): Promise<string> {
  const script = `const s = require('net').connect(${JSON.stringify(path)}); const got = [];
    s.on('data', (d) => got.push(d)); s.on('error', () => {}); s.on('close', () => { console.log('got:' + Buffer.concat(got).toString('hex')); });
    s.on('connect', () => s.write(Buffer.from(${JSON.stringify(bytes.toString('hex'))}, 'hex')));`;
  return new Promise((resolve, reject) => {
    const c = spawn('setpriv', [`--reuid=${id('-u')}`, `--regid=${id('-g')}`, '--init-groups', '--', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.on('close', (code) => {
      clearTimeout(t);
      const m = /got:([0-9a-f]*)/.exec(out);
      if (code !== 0 || !m) reject(new Error(`tmbuser client failed (${code}): ${err}`));
      else resolve(m[1]!);
    });
  });
}

describe('agent listener', { skip: !isRoot && 'needs root (a second real account)' }, () => {
  let dir: string;
  let server: Server | null = null;
  let agent: ChildProcess | null = null;
  const refused: number[] = [];
  const LIST = encodeRequest({ op: 'list' });
  const answer = async (): Promise<Buffer> => encodeAnswer('list', { pid: process.pid, unlocked: [] });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tumbler-agent-srv-'));
    chmodSync(dir, 0o755);
    server = await listenAgent({ socketPath: join(dir, 'root', 'agent.sock'), uid: 0, peerUid: (s) => peerCredentials(s).uid, answer, refused: (u) => refused.push(u) });
  });
  after(() => {
    server?.close();
    if (agent?.pid && agent.exitCode === null) agent.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('the socket is 0600 in a 0700 directory; the same uid gets its answer', async () => {
    assert.equal(statSync(join(dir, 'root')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'root', 'agent.sock')).mode & 0o777, 0o600);
    const r = decodeReply('list', (await exchange(join(dir, 'root', 'agent.sock'), LIST)).subarray(4));
    assert.deepEqual(r, { ok: true, answer: { pid: process.pid, unlocked: [] } });
  });

  test("another user's process gets nothing, even when the file modes would let it in (SO_PEERCRED)", async () => {
    chmodSync(join(dir, 'root'), 0o711); // test only: open the first line of defence
    chmodSync(join(dir, 'root', 'agent.sock'), 0o666);
    try {
      assert.equal(await exchangeAsTmbuser(join(dir, 'root', 'agent.sock'), LIST), '');
      assert.deepEqual(refused, [id('-u')]);
    } finally {
      chmodSync(join(dir, 'root'), 0o700);
      chmodSync(join(dir, 'root', 'agent.sock'), 0o600);
    }
  });

  test("root gets nothing from tmbuser's running `tumbler agent`; tmbuser does", async () => {
    const run = join(dir, 'run-tmbuser');
    mkdirSync(run, { mode: 0o700 });
    chownSync(run, id('-u'), id('-g'));
    const env = { PATH: process.env.PATH, HOME: run, XDG_RUNTIME_DIR: run, XDG_CONFIG_HOME: join(run, 'config') };
    agent = spawn('setpriv', [`--reuid=${id('-u')}`, `--regid=${id('-g')}`, '--init-groups', '--', process.execPath, '--import', 'tsx', join(REPO, 'client/cli.ts'), 'agent'],
      { env, cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    agent.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const sock = join(run, 'tumbler', 'agent.sock');
    for (const until = Date.now() + 30_000; !log.includes('listening') && Date.now() < until;) await new Promise((r) => setTimeout(r, 25));
    assert.match(log, /listening/);
    assert.equal(statSync(sock).uid, id('-u'));
    assert.equal((await exchange(sock, LIST)).length, 0, 'root is refused');
    assert.equal(agent.exitCode, null, 'and the agent carries on');
    const fromUser = Buffer.from(await exchangeAsTmbuser(sock, LIST), 'hex');
    const r = decodeReply('list', fromUser.subarray(4));
    assert.equal(r.ok && r.answer.pid > 0, true);
    for (const until = Date.now() + 15_000; !log.includes('refused a connection from uid 0') && Date.now() < until;) await new Promise((r) => setTimeout(r, 25));
    assert.match(log, /refused a connection from uid 0/);
    agent.kill('SIGTERM');
    await new Promise((r) => agent!.once('exit', r));
    assert.equal(agent.exitCode, 0);
  });

  test('a frame over the cap, or cut short, gets no answer', async () => {
    const sock = join(dir, 'root', 'agent.sock');
    assert.equal((await exchange(sock, Buffer.from('00100000', 'hex'))).length, 0);
    const cut = connect(sock);
    cut.on('error', () => undefined);
    await new Promise((r) => cut.once('connect', r));
    cut.end(Buffer.from('0000000201', 'hex')); // half a body, then hang up
    const got: Buffer[] = [];
    cut.on('data', (d) => got.push(d));
    await new Promise((r) => cut.once('close', r));
    assert.equal(Buffer.concat(got).length, 0);
  });

  test('a stale socket is replaced; a live one is AGENT_RUNNING; a file that is not a socket is left alone', async () => {
    const path = join(dir, 'root', 'agent.sock');
    await assert.rejects(listenAgent({ socketPath: path, uid: 0, peerUid: () => 0, answer }), { code: 'AGENT_RUNNING' });
    const other = join(dir, 'stale');
    mkdirSync(other, { mode: 0o700 });
    const stale = createServer();
    await new Promise<void>((r) => stale.listen(join(other, 'agent.sock'), () => r()));
    // close the fd but keep the file, as a SIGKILLed agent leaves it
    (stale as unknown as { _handle: { close(): void } })._handle.close();
    const s2 = await listenAgent({ socketPath: join(other, 'agent.sock'), uid: 0, peerUid: (s) => peerCredentials(s).uid, answer });
    assert.equal(decodeReply('list', (await exchange(join(other, 'agent.sock'), LIST)).subarray(4)).ok, true);
    s2.close();
    writeFileSync(join(other, 'file.sock'), 'not a socket');
    await assert.rejects(listenAgent({ socketPath: join(other, 'file.sock'), uid: 0, peerUid: () => 0, answer }), { code: 'AGENT_UNSAFE' });
  });

  test('a directory open to others, or not owned by the user, is refused (AGENT_UNSAFE)', async () => {
    const open = join(dir, 'open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    await assert.rejects(listenAgent({ socketPath: join(open, 'agent.sock'), uid: 0, peerUid: () => 0, answer }), { code: 'AGENT_UNSAFE' });
    const theirs = join(dir, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, id('-u'), id('-g'));
    await assert.rejects(listenAgent({ socketPath: join(theirs, 'agent.sock'), uid: 0, peerUid: () => 0, answer }), { code: 'AGENT_UNSAFE' });
  });
});

/**
 * tumbler-connect (client/connector/tumbler-connect.c), the compiled program, against a stand-in
 * agent speaking the real protocol on a real Unix socket and a TCP echo server on loopback:
 * the connected socket reaches "ssh" (a Python receiver of SCM_RIGHTS) and talks to the granted
 * port; an agent's failure exits with its status; no agent, an unsafe socket directory, bad usage
 * and a stdout that is not a socket exit with tumbler's codes; without a key it runs
 * `tumbler unlock PROFILE` once on the terminal and asks again. Its exit codes are tumbler's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../../../../client/commands/exit-codes.js';
import { decodeRequest, encodeAnswer, encodeFailure } from '../../../../client/agent/protocol.js';
import { listenAgent } from '../../../../client/agent/server.js';
import { peerCredentials } from '../../../../shared/native/index.js';

const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const CONNECTOR = join(REPO, 'client/connector/tumbler-connect');
const RECEIVER = fileURLToPath(new URL('./fd-receiver.py', import.meta.url));

interface Received { rc: number; peerPort?: number; echo?: string; error?: string }

test('the connector exits with the statuses of tumbler (exit-codes.ts)', () => {
  const src = readFileSync(join(REPO, 'client/connector/tumbler-connect.c'), 'utf8');
  const defs = Object.fromEntries([...src.matchAll(/^#define EXIT_([A-Z_]+) (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.ok(Object.keys(defs).length >= 5);
  for (const [name, value] of Object.entries(defs)) assert.equal(value, (EXIT as Record<string, number>)[name], name);
});

describe('tumbler-connect', { skip: !existsSync(CONNECTOR) && 'not built (npm run build)' }, () => {
  let dir: string;
  let echo: Server;
  let echoPort = 0;
  let agent: Server | null = null;
  /** What the stand-in agent answers to an open; can change between tests. */
  let onOpen: (profile: string, service: string) => Buffer = () => encodeFailure({ exitCode: 1, code: 'X', message: 'unset' });
  const opens: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tumbler-connect-'));
    mkdirSync(join(dir, 'run'), { mode: 0o700 });
    echo = createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => undefined));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    echoPort = (echo.address() as AddressInfo).port;
    agent = await listenAgent({
      socketPath: join(dir, 'run', 'tumbler', 'agent.sock'), uid: process.getuid!(), peerUid: (s) => peerCredentials(s).uid,
      answer: async (body) => {
        const r = decodeRequest(body);
        if (r.op !== 'open') return encodeFailure({ exitCode: 1, code: 'UNEXPECTED', message: r.op });
        opens.push(`${r.profile}/${r.service}`);
        return onOpen(r.profile, r.service);
      },
    });
  });
  after(() => {
    agent?.close();
    echo.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, XDG_RUNTIME_DIR: join(dir, 'run'), ...extra });
  const viaSsh = (args: string[], o: { env?: NodeJS.ProcessEnv; tty?: boolean } = {}): Promise<Received & { stderr: string }> => new Promise((res) => {
    const c = spawn('python3', [RECEIVER, ...(o.tty ? ['--tty'] : []), CONNECTOR, ...args], { env: env(o.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', () => res({ ...(JSON.parse(out.trim() || '{"rc":-1}') as Received), stderr: err }));
  });
  const granted = (): Buffer => encodeAnswer('open', { server: '127.0.0.1', port: echoPort, result: { port: echoPort } });

  test('hands ssh a TCP socket connected to the granted port', async () => {
    onOpen = granted;
    const r = await viaSsh(['work', 'ssh']);
    assert.equal(r.rc, 0, r.stderr);
    assert.equal(r.peerPort, echoPort);
    assert.equal(r.echo, 'ping\n');
    assert.equal(opens.at(-1), 'work/ssh');
  });

  test("an agent's failure is printed with its code and ends with its exit status", async () => {
    onOpen = () => encodeFailure({ exitCode: 3, code: 'PROFILE_NOT_FOUND', message: 'no profile named "nosuch"' });
    const r = await viaSsh(['nosuch', 'ssh']);
    assert.equal(r.rc, 3);
    assert.equal(r.peerPort, undefined);
    assert.match(r.stderr, /^tumbler-connect: no profile named "nosuch" \(PROFILE_NOT_FOUND\)\n$/);
  });

  test('a granted port that refuses: exit 7 (PROXY_CONNECT)', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    onOpen = () => encodeAnswer('open', { server: '127.0.0.1', port, result: {} });
    const r = await viaSsh(['work', 'ssh']);
    assert.equal(r.rc, EXIT.PROXY_CONNECT);
    assert.match(r.stderr, /\(PROXY_CONNECT\)/);
  });

  test('not unlocked, --no-unlock: exit 11 naming the fix', async () => {
    onOpen = () => encodeFailure({ exitCode: EXIT.AGENT, code: 'AGENT_LOCKED', message: 'profile "work" is not unlocked' });
    const r = await viaSsh(['--no-unlock', 'work', 'ssh']);
    assert.equal(r.rc, EXIT.AGENT);
    assert.match(r.stderr, /tumbler unlock work \(AGENT_UNAVAILABLE\)/);
  });

  test('not unlocked: runs `tumbler unlock PROFILE` on the terminal once, then connects', async () => {
    const flag = join(dir, 'unlocked');
    const record = join(dir, 'unlock-call');
    const fake = join(dir, 'fake-tumbler');
    writeFileSync(fake, ['#!/bin/bash', 'echo "$*" > ' + record, '[ -t 0 ] && echo stdin-tty >> ' + record,
      '[ /proc/$$/fd/1 -ef /proc/$$/fd/2 ] && echo stdout-is-stderr >> ' + record, `touch ${flag}`, ''].join('\n'), { mode: 0o755 });
    onOpen = () => (existsSync(flag) ? granted() : encodeFailure({ exitCode: EXIT.AGENT, code: 'AGENT_LOCKED', message: 'not unlocked' }));
    const r = await viaSsh(['work', 'ssh'], { env: { TUMBLER_CLI: fake }, tty: true });
    assert.equal(r.rc, 0, r.stderr);
    assert.equal(r.echo, 'ping\n');
    assert.deepEqual(readFileSync(record, 'utf8').trim().split('\n'), ['unlock work', 'stdin-tty', 'stdout-is-stderr']);
  });

  test('without a terminal there is nobody to ask: exit 11', async () => {
    rmSync(join(dir, 'unlocked'), { force: true });
    const r = await viaSsh(['work', 'ssh'], { env: { TUMBLER_CLI: '/bin/false' } });
    assert.equal(r.rc, EXIT.AGENT);
  });

  test('no agent running, or a socket directory that is not safely ours: exit 11', async () => {
    const none = await viaSsh(['--no-unlock', 'work', 'ssh'], { env: { XDG_RUNTIME_DIR: join(dir, 'nowhere') } });
    assert.equal(none.rc, EXIT.AGENT);
    assert.match(none.stderr, /no agent is running/);
    const open = join(dir, 'open-run');
    mkdirSync(join(open, 'tumbler'), { recursive: true });
    chmodSync(join(open, 'tumbler'), 0o755);
    const unsafe = await viaSsh(['work', 'ssh'], { env: { XDG_RUNTIME_DIR: open } });
    assert.equal(unsafe.rc, EXIT.AGENT);
    assert.match(unsafe.stderr, /\(AGENT_UNSAFE\)/);
  });

  test('usage: bad arguments, or a stdout that is not a socket (ProxyUseFdpass missing): exit 2', () => {
    for (const args of [[], ['work'], ['Work!', 'ssh'], ['work', 'ssh', 'extra']]) {
      const r = spawnSync(CONNECTOR, args, { env: env(), encoding: 'utf8' });
      assert.equal(r.status, EXIT.USAGE, args.join(' '));
    }
    const file = join(dir, 'stdout.txt');
    const fd = openSync(file, 'w');
    try {
      const r = spawnSync(CONNECTOR, ['work', 'ssh'], { env: env(), stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
      assert.equal(r.status, EXIT.USAGE);
      assert.match(r.stderr, /ProxyUseFdpass/);
    } finally {
      closeSync(fd);
    }
  });
});

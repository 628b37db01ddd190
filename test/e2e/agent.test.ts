/**
 * `tumbler agent` and the ssh connector end to end, on real parts in network namespaces (the
 * World of world.ts: tumblerd, nftables, pcap, sshd), the client side as the unprivileged user
 * tmbuser through the setuid helper. What a user observes: a knock opens (a connect succeeds, ssh
 * logs in) with the key unlocked once; `lock`, a lifetime and SIGUSR1 take the key away; another
 * uid gets nothing from the socket; a SIGKILL of the agent in the middle of a knock loses no
 * sequence; without an agent everything works as before.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { typoRejectedByProfile } from '../helpers/wrong-password.js';
import { until } from '../helpers/until.js';
import { SERVER_ADDR, World, type RunResult } from './world.js';

const isRoot = process.getuid?.() === 0;

interface Opened { port: number }
interface Status { agent: { pid: number } | null; profiles: Array<{ profile: string; keyStored?: boolean; agent?: { unlocked: boolean } | null }> }

describe('tumbler agent and tumbler-connect end to end', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  let w: World;
  let alice: string; // key stored in the profile
  let bob: string; // key kept off disk
  let agentLog = '';
  const pw = (): string => w.clientPasswordFile;

  before(async () => {
    w = World.create('ag');
    alice = w.enroll('alice');
    bob = w.enroll('bob', { clientArgs: ['--no-store-key'] });
    await w.startDaemon();
  });
  after(async () => {
    // The world goes even when stopping the agent fails (a client that does not run must not leave
    // namespaces and sshd behind): the World also tracks the agent's process.
    try {
      await stopAgent();
    } finally {
      w?.destroy();
    }
  });

  const profileDoc = (name: string): Record<string, unknown> =>
    JSON.parse(readFileSync(join(w.clientHome, '.config', 'tumbler', 'profiles', `${name}.json`), 'utf8')) as Record<string, unknown>;
  const status = (): Status => JSON.parse(w.client(['status', '--json']).stdout) as Status;
  const unlocked = (name: string): boolean => status().profiles.find((p) => p.profile === name)?.agent?.unlocked === true;
  /** `tumbler open` without a password source: only the agent (or a stored key) can make it succeed. */
  const open = (name: string, extra: string[] = []): { code: number | null; port?: number; stderr: string } => {
    const r = w.client(['open', name, '--json', ...extra], { env: {} });
    return { code: r.code, port: r.code === 0 ? (JSON.parse(r.stdout) as Opened).port : undefined, stderr: r.stderr };
  };
  const opensFor = (name: string, extra: string[] = []): void => {
    const o = open(name, extra);
    assert.equal(o.code, 0, o.stderr);
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, o.port!), 'connected');
  };
  /** The agent in the foreground, as tmbuser in the client namespace, tracked by the World. */
  async function startAgent(args: string[] = []): Promise<number> {
    agentLog = '';
    const c = w.spawnTracked('ip', w.clientArgv(['agent', ...args]), { stdio: 'pipe', env: w.clientEnv() });
    c.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));
    await until(() => agentLog.includes('listening'), 30_000, 25);
    assert.match(agentLog, /listening/);
    return status().agent!.pid;
  }
  async function stopAgent(): Promise<void> {
    const pid = w ? status().agent?.pid : undefined;
    if (pid) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
      await until(() => !status().agent, 20_000, 50);
    }
  }
  const clientAsync = (args: string[]): Promise<RunResult> => new Promise((resolve) => {
    const c = spawn('ip', w.clientArgv(args), { env: w.clientEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });

  test('1. no agent: a stored key opens as before; a key kept off disk needs its password', () => {
    assert.equal(status().agent, null);
    assert.equal('key' in profileDoc(bob), false);
    opensFor(alice);
    assert.equal(open(bob).code, 2); // no terminal, no password file: PASSWORD_EMPTY
    const r = w.client(['open', bob, '--json', '--password-file', pw()]);
    assert.equal(r.code, 0, r.stderr);
  });

  test('2. `tumbler unlock` starts the agent and asks the password once; open and proxy then knock through it', async () => {
    // A mistyped password is refused at once (the profile's key check), before any key reaches an agent.
    const wrong = join(w.clientHome, 'wrong-password');
    const doc = profileDoc(bob) as { kdf: { salt: string; N: number; r: number; p: number }; keyCheck: string };
    writeFileSync(wrong, `${await typoRejectedByProfile(readFileSync(pw(), 'utf8').trim(), doc)}\n`, { mode: 0o600 });
    chownSync(wrong, statSync(pw()).uid, statSync(pw()).gid);
    const bad = w.client(['unlock', bob, '--password-file', wrong]);
    assert.equal(bad.code, 8, bad.stderr);
    assert.match(bad.stderr, /PASSWORD_WRONG/);
    assert.equal(unlocked(bob), false);
    const u = w.client(['unlock', bob, '--password-file', pw()]);
    assert.equal(u.code, 0, u.stderr);
    const s = status();
    assert.ok(s.agent?.pid);
    assert.equal(unlocked(bob), true);
    opensFor(bob);
    opensFor(bob);
    opensFor(alice); // a stored key needs no unlocking
    // --gateway reaches the agent's knock: its own address opens, one the profile lacks is refused (exit 2).
    opensFor(bob, ['--gateway', SERVER_ADDR]);
    const other = open(bob, ['--gateway', '203.0.113.77']);
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /GATEWAY_UNKNOWN/);
    const ssh = w.ssh(w.ns.cli, { profile: bob, host: 'work', command: 'echo via-agent-proxy' });
    assert.equal(ssh.code, 0, ssh.stderr);
    assert.match(ssh.stdout, /via-agent-proxy/);
    // Nothing reached the disk: the profile still has no key; the agent's directory holds its socket only.
    assert.equal('key' in profileDoc(bob), false);
    assert.deepEqual(readdirSync(join(w.clientRuntime, 'tumbler')), ['agent.sock']);
    assert.equal(statSync(join(w.clientRuntime, 'tumbler', 'agent.sock')).mode & 0o777, 0o600);
  });

  test('3. ssh through tumbler-connect (ProxyUseFdpass) logs in with the key in the agent', () => {
    const r = w.ssh(w.ns.cli, { profile: bob, connector: true, host: 'work', command: 'echo via-connector' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /via-connector/);
    const inner = w.ssh(w.ns.cli, { profile: alice, service: 'inner', connector: true, host: 'inner', command: 'echo inner-via-connector' });
    assert.equal(inner.code, 0, inner.stderr);
    assert.match(inner.stdout, /inner-via-connector/);
  });

  test('4. enrolling while the agent runs keeps the new key off disk and hands it to the agent', () => {
    const carol = w.enroll('carol');
    assert.equal('key' in profileDoc(carol), false);
    assert.equal(unlocked(carol), true);
    opensFor(carol);
  });

  test('5. another uid gets nothing from the socket (root, in the same namespace)', () => {
    const script = `const s = require('net').connect(${JSON.stringify(join(w.clientRuntime, 'tumbler', 'agent.sock'))}); let n = 0;
      s.on('data', (d) => (n += d.length)); s.on('error', () => {}); s.on('close', () => console.log('bytes:' + n));
      s.on('connect', () => s.write(Buffer.from('000000020104', 'hex')));`;
    const r = spawnSync('ip', ['netns', 'exec', w.ns.cli, process.execPath, '-e', script], { encoding: 'utf8', timeout: 15_000 });
    assert.match(r.stdout, /bytes:0/);
    assert.ok(status().agent, 'the agent carries on');
  });

  test('6. `tumbler lock` forgets the key: open falls back to asking, the connector says unlock', async () => {
    assert.equal(w.client(['lock', bob]).code, 0);
    assert.equal(unlocked(bob), false);
    assert.equal(open(bob).code, 2);
    const c = w.client(['status', bob]);
    assert.match(c.stdout, /not unlocked/);
    const ssh = spawnSync('ip', w.sshArgv(w.ns.cli, { profile: bob, connector: true, command: 'true' }).map((a) => (a.startsWith('ProxyCommand=') ? a.replace(' bob', ' --no-unlock bob') : a)),
      { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(ssh.status, 0);
    assert.match(ssh.stderr, /tumbler unlock bob-laptop \(AGENT_UNAVAILABLE\)/);
    opensFor(alice);
  });

  test('7. a key unlocked with --timeout is forgotten when its time is up', async () => {
    assert.equal(w.client(['unlock', bob, '--timeout', '5s', '--password-file', pw()]).code, 0);
    opensFor(bob);
    await until(() => !unlocked(bob), 30_000, 250); // generous under load; the key goes after 5 s
    assert.equal(unlocked(bob), false);
    assert.equal(open(bob).code, 2);
  });

  test('8. SIGUSR1 makes the agent forget every key (and opens no inspector); it cannot be ptraced or dumped', async () => {
    await stopAgent();
    const pid = await startAgent();
    assert.equal(w.client(['unlock', bob, '--password-file', pw()]).code, 0);
    assert.equal(statSync(`/proc/${pid}/mem`).uid, 0, 'not dumpable: /proc/PID/mem belongs to root');
    process.kill(pid, 'SIGUSR1');
    await until(() => !unlocked(bob), 15_000, 50);
    assert.equal(unlocked(bob), false);
    assert.equal(open(bob).code, 2);
    assert.ok(status().agent);
    const listening = spawnSync('ip', ['netns', 'exec', w.ns.cli, 'ss', '-Htlnp'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(listening, /:9229\b/);
  });

  test('9. a SIGKILL of the agent in the middle of a knock loses no sequence', async () => {
    assert.equal(w.client(['unlock', bob, '--password-file', pw()]).code, 0);
    const pid = status().agent!.pid;
    const sequenceBefore = JSON.stringify(profileDoc(bob).sequence);
    // The server will take the knock and answer, but the answer never reaches the client.
    const drop = `add table inet agtest { chain in { type filter hook input priority -10; policy accept; ip saddr ${SERVER_ADDR} tcp flags & (syn|ack) == syn|ack drop; }; }`;
    assert.equal(spawnSync('ip', ['netns', 'exec', w.ns.cli, 'nft', drop]).status, 0);
    try {
      const from = w.daemonLog.length;
      const pending = clientAsync(['open', bob, '--json', '--timeout', '2000']);
      await w.waitForLog('"grant.opened"', 15_000, from); // the server consumed the sequence
      process.kill(pid, 'SIGKILL');
      const cut = await pending;
      assert.notEqual(cut.code, 0);
    } finally {
      spawnSync('ip', ['netns', 'exec', w.ns.cli, 'nft', 'delete', 'table', 'inet', 'agtest']);
    }
    await until(() => !status().agent, 20_000, 50);
    assert.equal(status().agent, null);
    // Killed mid-knock: the reply never came, the stored sequence is the one the server consumed,
    // and the agent's profile lock is left behind.
    assert.equal(JSON.stringify(profileDoc(bob).sequence), sequenceBefore);
    assert.ok(existsSync(join(w.clientHome, '.config', 'tumbler', 'profiles', `${bob}.lock`)));
    // The profile kept its sequence (the killed agent never stored a reply); the server's recovery
    // rule takes it again, with or without an agent. Its stale lock file does not block either.
    const again = w.client(['open', bob, '--json', '--password-file', pw()]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, (JSON.parse(again.stdout) as Opened).port), 'connected');
    assert.equal(w.client(['unlock', bob, '--password-file', pw()]).code, 0);
    opensFor(bob);
  });

  test('10. after `tumbler agent --stop`, open and proxy work without it', () => {
    const s = w.client(['agent', '--stop']);
    assert.equal(s.code, 0, s.stderr);
    assert.equal(status().agent, null);
    opensFor(alice);
    const ssh = w.ssh(w.ns.cli, { profile: alice, host: 'work', command: 'echo no-agent' });
    assert.equal(ssh.code, 0, ssh.stderr);
    assert.match(ssh.stdout, /no-agent/);
  });
});

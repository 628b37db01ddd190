/**
 * `tumbler open` on real raw sockets, as root, between two network namespaces joined by a veth
 * pair (client 198.51.100.2 / 2001:db8:51::2 ↔ server 198.51.100.1 / 2001:db8:51::1). The server
 * side is a tiny knock server (client-fake-server.ts) that verifies knocks with the protocol module
 * and answers with a real SYN-ACK carrying a sealed reply. Covers the in-process raw transport
 * (IPv4 and IPv6) and the C helper path, and that each reply's next sequence is stored and used.
 * The client runs as users run it: the bundle (npm run build).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NetnsLab, isRoot } from '../helpers/netns.js';
import { bundleCheck, encodeBundle, type BundleFields } from '../../shared/protocol/bundle.js';
import { deriveDeviceKey } from '../../shared/protocol/kdf.js';
import { sequenceKey, type Sequence } from '../../shared/protocol/sequence.js';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SERVER4 = '198.51.100.1';
const CLIENT4 = '198.51.100.2';
const SERVER6 = '2001:db8:51::1';
const CLIENT6 = '2001:db8:51::2';
const PASSWORD = 'correct horse battery staple';
const KDF = { salt: Buffer.alloc(16, 0x33), N: 1 << 14, r: 8, p: 1 };
const HELPER = join(REPO, 'client/helper/tumbler-helper');

interface Opened { profile: string; service: string; server: string; port: number; expiresAt: number; observedAddress: string }
interface Run { code: number | null; stdout: string; stderr: string }

describe('tumbler open over raw sockets in network namespaces', { skip: !isRoot && 'needs root (network namespaces)' }, () => {
  const lab = new NetnsLab('cliopen');
  let srv = '';
  let cli = '';
  let home = '';
  let server: ChildProcess | null = null;
  const events: Array<Record<string, unknown>> = [];
  const seq4: Sequence = { ports: [40100, 40200, 40300], tags: [1, 2, 3] };
  const seq6: Sequence = { ports: [40110, 40210, 40310], tags: [4, 5, 6] };
  const seqH: Sequence = { ports: [40120, 40220, 40320], tags: [7, 8, 9] };
  const seqP: Sequence = { ports: [40130, 40230, 40330], tags: [10, 11, 12] };
  const seqX: Sequence = { ports: [40140, 40240, 40340], tags: [13, 14, 15] };
  const PROXY_PORT = 50500;
  const CLOSED_PORT = 50501;

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), ...extra });

  function tumbler(args: string[], extra: NodeJS.ProcessEnv = {}, input?: string): Promise<Run> {
    return new Promise((res) => {
      // The client as users run it: the bundle (a dynamic import() fails inside it; raw-socket must still load).
      const c = spawn('ip', ['netns', 'exec', cli, process.execPath, join(REPO, 'dist/client/bin/tumbler.cjs'), ...args],
        { cwd: REPO, env: env(extra), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      if (input !== undefined) c.stdin!.end(input);
      let stdout = '';
      let stderr = '';
      c.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
      c.on('close', (code) => { clearTimeout(t); res({ code, stdout, stderr }); });
    });
  }

  let key: Buffer;
  const enroll = async (name: string, serverAddr: string, seq: Sequence): Promise<void> => {
    const fields: BundleFields = { gateways: [[serverAddr]], user: 'alice', device: name, kdf: KDF, sequence: seq, services: { ssh: 1 }, issuedAtMs: Date.now() };
    writeFileSync(join(home, `${name}.bundle`), encodeBundle({ ...fields, check: bundleCheck(key, fields) }));
    const r = await tumbler(['enroll', join(home, `${name}.bundle`), '--name', name, '--password-file', join(home, 'password')]);
    assert.equal(r.code, 0, r.stderr);
  };
  const profileOf = (name: string): { sequence: { ports: number[] }; observed?: Record<string, { address: string }> } =>
    JSON.parse(readFileSync(join(home, '.config/tumbler/profiles', `${name}.json`), 'utf8')) as { sequence: { ports: number[] }; observed?: Record<string, { address: string }> };

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'tumbler-netns-'));
    writeFileSync(join(home, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
    srv = lab.addNamespace('srv');
    cli = lab.addNamespace('cli');
    lab.link({ ns: cli, ifname: 'veth-c', addresses: [`${CLIENT4}/24`, `${CLIENT6}/64`] }, { ns: srv, ifname: 'veth-s', addresses: [`${SERVER4}/24`, `${SERVER6}/64`] });
    key = await deriveDeviceKey(PASSWORD, KDF);
    const devices = [seq4, seq6, seqH, seqP, seqX].map((s) => ({ keyHex: key.toString('hex'), seqHex: sequenceKey(s).toString('hex'),
      grantPort: s === seqP ? PROXY_PORT : s === seqX ? CLOSED_PORT : undefined }));
    server = lab.spawn(srv, [process.execPath, '--import', 'tsx', join(REPO, 'test/integration/client-fake-server.ts'),
      JSON.stringify({ addresses: { 4: SERVER4, 6: SERVER6 }, devices, windowSec: 30 })]);
    const lines = createInterface({ input: server.stdout! });
    const ready = new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error('fake server did not start')), 15_000);
      lines.on('line', (l) => {
        try { events.push(JSON.parse(l) as Record<string, unknown>); } catch { return; }
        if (events.at(-1)?.event === 'ready') { clearTimeout(t); res(); }
      });
    });
    await ready;
    await Promise.all([enroll('v4', SERVER4, seq4), enroll('v6', SERVER6, seq6), enroll('viahelper', SERVER4, seqH),
      enroll('proxied', SERVER4, seqP), enroll('closed', SERVER4, seqX)]);
    await lab.tcpServer(srv, PROXY_PORT, 'banner-from-service', SERVER4);
  });

  after(() => {
    lab.cleanup();
    server = null;
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('IPv4, in-process raw sockets: open succeeds, prints JSON, stores the next sequence; the next open uses it', async () => {
    const r = await tumbler(['open', 'v4', '--json'], { TUMBLER_TRANSPORT: 'raw' });
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as Opened;
    assert.equal(o.profile, 'v4');
    assert.equal(o.service, 'ssh');
    assert.equal(o.server, SERVER4);
    assert.equal(o.observedAddress, CLIENT4);
    assert.ok(o.port >= 50100);
    assert.notDeepEqual(profileOf('v4').sequence.ports, [...seq4.ports]);
    const again = await tumbler(['open', 'v4', '--json'], { TUMBLER_TRANSPORT: 'raw' });
    assert.equal(again.code, 0, again.stderr);
    assert.notEqual((JSON.parse(again.stdout) as Opened).port, o.port);
  });

  test('IPv6, in-process raw sockets', async () => {
    const r = await tumbler(['open', 'v6', '--json'], { TUMBLER_TRANSPORT: 'raw' });
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as Opened;
    assert.equal(o.server, SERVER6);
    assert.equal(o.observedAddress, CLIENT6);
    assert.equal(profileOf('v6').observed?.['6']?.address, CLIENT6);
  });

  test('IPv4 through the C helper (run as root here), default text output', { skip: !existsSync(HELPER) && 'helper not built' }, async () => {
    const r = await tumbler(['open', 'viahelper'], { TUMBLER_TRANSPORT: 'helper', TUMBLER_HELPER: HELPER });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ssh granted on 198\.51\.100\.1 port \d+ until \d\d:\d\d:\d\d \(\d+ s\)\n$/);
  });

  test('a server that does not answer: exit 5 after the retries, the sequence unchanged', async () => {
    await enroll('silent', '198.51.100.9', seq4);
    const r = await tumbler(['open', 'silent', '--timeout', '100'], { TUMBLER_TRANSPORT: 'raw' });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /^tumbler: .*\(SERVER_SILENT\)\n$/);
    assert.deepEqual(profileOf('silent').sequence.ports, [...seq4.ports]);
  });

  test('proxy: knocks, connects to the granted port and relays both ways; stdout carries only the session', async () => {
    const r = await tumbler(['proxy', 'proxied', 'ssh'], { TUMBLER_TRANSPORT: 'raw' }, 'ping-through-proxy\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'banner-from-service\nping-through-proxy\n');
  });

  test('proxy: the granted port refuses the connection: exit 7', async () => {
    const r = await tumbler(['proxy', 'closed', 'ssh'], { TUMBLER_TRANSPORT: 'raw' }, '');
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /\(PROXY_CONNECT\)/);
    assert.equal(r.stdout, '');
  });

  test('helper missing: exit 4 with the install hint', async () => {
    const r = await tumbler(['open', 'v4', '--timeout', '100'], { TUMBLER_TRANSPORT: 'helper', TUMBLER_HELPER: join(home, 'nope') });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /sudo tumbler install-helper/);
  });
});

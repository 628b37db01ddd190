/**
 * Knock SYNs equal to the host's own (issue 14, docs/protocol.md §13), end to end: the real
 * tumblerd in its namespace, `tumbler open` as the unprivileged tmbuser through the setuid helper
 * in the client namespace, tcpdump on the client's interface, and p0f (the Debian package) reading
 * the capture. p0f's raw signature of every knock SYN must equal that of the kernel's own connect()
 * SYN from the same namespace to the same server — and still after tcp_rmem changes there (the
 * window and its scale follow the host).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_ADDR, KNOCK_RANGE, SERVER_ADDR, World } from './world.js';

const isRoot = process.getuid?.() === 0;
const hasP0f = spawnSync('p0f', ['-h']).error === undefined;

interface Sig { clientPort: number; serverPort: number; rawSig: string }

/** p0f's SYN signatures in a capture: one per client SYN. */
function p0fSyns(pcap: string, log: string): Sig[] {
  const r = spawnSync('p0f', ['-r', pcap, '-o', log], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const out: Sig[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const m = /\bmod=syn\|cli=([\d.]+)\/(\d+)\|srv=([\d.]+)\/(\d+)\|.*\|raw_sig=([^|]+)$/.exec(line);
    if (m && m[1] === CLIENT_ADDR && m[3] === SERVER_ADDR) out.push({ clientPort: Number(m[2]), serverPort: Number(m[4]), rawSig: m[5]! });
  }
  return out;
}

describe('knock SYNs look like the host\'s own', { skip: (!isRoot && 'needs root (network namespaces)') || (!hasP0f && 'p0f is not installed') }, () => {
  let w: World;
  let profile: string;

  before(async () => {
    w = World.create('ss');
    profile = w.enroll('carol');
    await w.startDaemon();
  });
  after(() => {
    w?.destroy();
  });

  /** Captures on the client's interface while a knock (tumbler open) and a kernel connect() run. */
  async function knockAndConnect(tag: string): Promise<{ knock: Sig[]; kernel: Sig[] }> {
    const cap = await w.startCapture(w.ns.cli, 'tcp[13] & 0x12 == 0x02', { asRoot: true });
    const opened = w.client(['open', profile, '--json']);
    assert.equal(opened.code, 0, opened.stderr);
    const port = (JSON.parse(opened.stdout) as { port: number }).port;
    // The kernel's own SYN from the same namespace to the same server: a connect() to the granted port.
    assert.equal(w.probe(w.ns.cli, SERVER_ADDR, port, 5), 'connected');
    await cap.stop();
    const sigs = p0fSyns(cap.file, join(w.dir, `shape-${tag}.log`));
    return {
      knock: sigs.filter((s) => s.serverPort >= KNOCK_RANGE.first && s.serverPort <= KNOCK_RANGE.last),
      kernel: sigs.filter((s) => s.serverPort === port),
    };
  }

  const scaleOf = (rawSig: string): number => Number(rawSig.split(':')[4]!.split(',')[1]);

  test('p0f: every knock SYN has the raw signature of the kernel\'s own SYN (this host\'s settings)', async () => {
    const { knock, kernel } = await knockAndConnect('host');
    assert.ok(knock.length >= 3, `${knock.length} knock SYNs captured`);
    assert.ok(kernel.length >= 1, 'the kernel\'s SYN captured');
    for (const k of knock) assert.equal(k.rawSig, kernel[0]!.rawSig, `knock SYN from port ${k.clientPort}`);
  });

  test('p0f: still equal after tcp_rmem changes in the client namespace, and the window scale follows it', async () => {
    const before = (await knockAndConnect('before')).kernel[0]!.rawSig;
    for (const [tag, rmem] of [['small', '4096 65536 1048576'], ['large', '4096 262144 268435456']] as const) {
      const r = spawnSync('ip', ['netns', 'exec', w.ns.cli, 'sysctl', '-qw', `net.ipv4.tcp_rmem=${rmem}`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const { knock, kernel } = await knockAndConnect(tag);
      assert.ok(knock.length >= 3 && kernel.length >= 1);
      assert.notEqual(scaleOf(kernel[0]!.rawSig), scaleOf(before), `${tag}: the kernel's window scale changed with tcp_rmem`);
      for (const k of knock) assert.equal(k.rawSig, kernel[0]!.rawSig, `${tag}: knock SYN from port ${k.clientPort}`);
    }
  });
});

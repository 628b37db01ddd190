/**
 * The raw-socket helper (client/helper/tumbler-helper.c) and its JS side (client/transport/helper.ts,
 * install-helper.ts), tested for real as root: two network namespaces joined by a veth pair, the
 * helper run as an unprivileged test user inside the client namespace (installed with cap_net_raw,
 * and setuid root), tcpdump capturing in the server namespace, python3 sending SYN-ACKs back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runHelper } from '../../../../client/transport/helper.js';
import { installHelper } from '../../../../client/transport/install-helper.js';
import { isTumblerError } from '../../../../shared/errors.js';
import { ipv4Packet, ipv6Packet, rawRequest, readPcap, tcpInfo, addrBytes, type SegOpts } from './packets.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const SRC = join(ROOT, 'client', 'helper', 'tumbler-helper.c');
const USER = 'tmbtest';
const NS_C = `tmb-helper-c-${process.pid}`;
const NS_S = `tmb-helper-s-${process.pid}`;
const C4 = '198.51.100.2';
const S4 = '198.51.100.1';
const C6 = '2001:db8:1::2';
const S6 = '2001:db8:1::1';
const isRoot = process.geteuid?.() === 0;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr ?? r.error}`);
  return r.stdout;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Run { code: number | null; stdout: Buffer; stderr: string; pid: number }
/** Helper processes still running, killed by PID in after() if a test left one behind. */
const running = new Set<ChildProcess>();

/** Starts the helper as the test user in the client namespace. */
function startAs(helper: string): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn('ip', ['netns', 'exec', NS_C, 'setpriv', '--reuid', USER, '--regid', USER, '--init-groups', helper],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  child.stdin!.on('error', () => {});
  running.add(child);
  const done = new Promise<Run>((resolve) => child.on('close', (code) => {
    running.delete(child);
    resolve({ code, stdout: Buffer.concat(out), stderr: err, pid: child.pid! });
  }));
  return { child, done };
}
function runAs(helper: string, req: Buffer): Promise<Run> {
  const { child, done } = startAs(helper);
  child.stdin!.end(req);
  return done;
}

let nextPort = 20000;
/** Three plain SYNs from this host to the server with fresh source ports. */
function knock(family: 4 | 6, over: Partial<SegOpts>[] = [{}, {}, {}]): { packets: Buffer[]; sports: number[] } {
  const sports: number[] = [];
  const packets = over.map((o, i) => {
    const sport = nextPort++;
    sports.push(sport);
    const base: SegOpts = {
      src: family === 4 ? C4 : C6, dst: family === 4 ? S4 : S6,
      sport, dport: 40001 + i, seq: (0x10000000 * (i + 1) + sport) >>> 0, id: 0x100 + sport % 1000,
    };
    const opts = { ...base, ...o };
    return family === 4 ? ipv4Packet(opts) : ipv6Packet(opts);
  });
  return { packets, sports };
}

describe('tumbler-helper', { skip: isRoot ? false : 'needs root' }, () => {
  let tmp = '';
  let plain = '';
  let capCopy = '';
  let suidCopy = '';
  let pcapPath = '';
  let tcpdump: ChildProcess | undefined;
  let uid = -1;
  let gid = -1;

  const captured = (): Buffer[] => readPcap(readFileSync(pcapPath));
  const synsFrom = (sports: number[]): Buffer[] => {
    const want = new Set(sports);
    return captured().filter((p) => {
      const t = tcpInfo(p);
      return t !== null && t.flags === 0x02 && want.has(t.sport);
    });
  };
  async function waitForSyns(sports: number[], n: number): Promise<Buffer[]> {
    for (let i = 0; i < 150; i++) {
      const got = synsFrom(sports);
      if (got.length >= n) return got;
      await sleep(20);
    }
    return synsFrom(sports);
  }
  /** A wrapper so runHelper (which takes a path) runs the helper in the namespace as the test user. */
  function wrapper(helper: string): string {
    const w = join(tmp, `wrap-${helper.split('/').pop()}.sh`);
    writeFileSync(w, `#!/bin/sh\nexec ip netns exec ${NS_C} setpriv --reuid ${USER} --regid ${USER} --init-groups ${helper}\n`, { mode: 0o755 });
    return w;
  }
  function sendFromServer(family: 4 | 6, dst: string, packets: Buffer[]): void {
    const py = 'import socket,sys\n'
      + 'f=socket.AF_INET if sys.argv[1]=="4" else socket.AF_INET6\n'
      + 's=socket.socket(f,socket.SOCK_RAW,255)\n'
      + 'if f==socket.AF_INET6: s.setsockopt(41,36,1)\n'
      + 'for h in sys.argv[3:]: s.sendto(bytes.fromhex(h),(sys.argv[2],0))\n';
    sh('ip', ['netns', 'exec', NS_S, 'python3', '-c', py, String(family), dst, ...packets.map((p) => p.toString('hex'))]);
  }
  function synAck(family: 4 | 6, syn3: Buffer, payload: Buffer, ackDelta = 1): Buffer {
    const t = tcpInfo(syn3)!;
    const o: SegOpts = {
      src: family === 4 ? S4 : S6, dst: family === 4 ? C4 : C6, sport: t.dport, dport: t.sport,
      seq: 0xabcdef01, ack: (t.seq + ackDelta) >>> 0, flags: 0x12, options: Buffer.from([2, 4, 5, 0xb4]), payload,
    };
    return family === 4 ? ipv4Packet(o) : ipv6Packet(o);
  }

  before(async () => {
    if (spawnSync('id', [USER]).status !== 0) sh('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
    uid = Number(sh('id', ['-u', USER]).trim());
    gid = Number(sh('id', ['-g', USER]).trim());
    tmp = mkdtempSync(join(tmpdir(), 'tmb-helper-'));
    chmodSync(tmp, 0o755);
    plain = join(tmp, 'helper-plain');
    sh('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2', '-pie', '-fPIE', '-o', plain, SRC]);
    chmodSync(plain, 0o755);
    capCopy = await installHelper(plain, join(tmp, 'cap', 'tumbler-helper'), 'cap');
    suidCopy = await installHelper(plain, join(tmp, 'suid', 'tumbler-helper'), 'setuid');

    sh('ip', ['netns', 'add', NS_C]);
    sh('ip', ['netns', 'add', NS_S]);
    sh('ip', ['link', 'add', 'veth0', 'netns', NS_C, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', NS_S]);
    for (const [ns, a4, a6] of [[NS_C, C4, C6], [NS_S, S4, S6]] as const) {
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `${a4}/24`, 'dev', 'veth0']);
      sh('ip', ['-n', ns, '-6', 'addr', 'add', `${a6}/64`, 'dev', 'veth0', 'nodad']);
      sh('ip', ['-n', ns, 'link', 'set', 'veth0', 'up']);
    }
    // Static neighbours, so the first knock is not queued behind ARP/ND.
    const mac = (ns: string): string => (JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'veth0'])) as { address: string }[])[0]!.address;
    for (const [ns, peer, a4, a6] of [[NS_C, NS_S, S4, S6], [NS_S, NS_C, C4, C6]] as const) {
      sh('ip', ['-n', ns, 'neigh', 'replace', a4, 'lladdr', mac(peer), 'dev', 'veth0', 'nud', 'permanent']);
      sh('ip', ['-n', ns, '-6', 'neigh', 'replace', a6, 'lladdr', mac(peer), 'dev', 'veth0', 'nud', 'permanent']);
    }

    pcapPath = join(tmp, 'cap.pcap');
    tcpdump = spawn('ip', ['netns', 'exec', NS_S, 'tcpdump', '-i', 'veth0', '-U', '--immediate-mode', '-n', '-Z', 'root', '-w', pcapPath, 'tcp'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 5000);
      tcpdump!.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) { clearTimeout(t); resolve(); }
      });
      tcpdump!.on('exit', () => { clearTimeout(t); reject(new Error(`tcpdump exited: ${err}`)); });
    });
  });

  after(async () => {
    for (const c of running) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
    if (tcpdump?.pid !== undefined && tcpdump.exitCode === null) {
      const exited = new Promise((r) => tcpdump!.once('exit', r));
      process.kill(tcpdump.pid, 'SIGTERM');
      await Promise.race([exited, sleep(2000)]);
    }
    spawnSync('ip', ['netns', 'del', NS_C]);
    spawnSync('ip', ['netns', 'del', NS_S]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('installs root-owned copies: cap_net_raw+ep at 0755, setuid at 4755', () => {
    const c = statSync(capCopy);
    assert.equal(c.uid, 0);
    assert.equal(c.mode & 0o7777, 0o755);
    assert.match(sh('getcap', [capCopy]), /cap_net_raw[=+]ep/);
    const s = statSync(suidCopy);
    assert.equal(s.uid, 0);
    assert.equal(s.mode & 0o7777, 0o4755);
  });

  it('sends exactly the requested SYNs, byte for byte, and exits 75 without a reply', async () => {
    for (const helper of [capCopy, suidCopy]) {
      const { packets, sports } = knock(4);
      const r = await runAs(helper, rawRequest(packets, { timeoutMs: 300 }));
      assert.equal(r.code, 75, r.stderr);
      assert.equal(r.stdout.length, 0);
      const got = await waitForSyns(sports, 3);
      assert.equal(got.length, 3);
      assert.deepEqual(got, packets);
    }
  });

  it('returns the payload of the matching SYN-ACK (IPv4), skipping others', async () => {
    const { packets, sports } = knock(4);
    const payload = Buffer.from('sealed-reply-payload-0123456789');
    const pending = runHelper(wrapper(capCopy), 4, packets, 3000);
    await waitForSyns(sports, 3);
    sendFromServer(4, C4, [
      synAck(4, packets[2]!, Buffer.from('wrong ack'), 2),
      synAck(4, packets[1]!, Buffer.from('wrong port')),
      synAck(4, packets[2]!, Buffer.alloc(0)),
      synAck(4, packets[2]!, payload),
    ]);
    assert.deepEqual(await pending, payload);
  });

  it('returns the payload of the matching SYN-ACK (IPv6)', async () => {
    const { packets, sports } = knock(6);
    const payload = Buffer.alloc(512, 7);
    const pending = runHelper(wrapper(suidCopy), 6, packets, 3000);
    const got = await waitForSyns(sports, 3);
    assert.deepEqual(got, packets);
    sendFromServer(6, C6, [synAck(6, packets[2]!, Buffer.from('wrong ack'), 0), synAck(6, packets[2]!, payload)]);
    assert.deepEqual(await pending, payload);
  });

  it('runHelper resolves null when no reply comes in time', async () => {
    const { packets } = knock(4);
    assert.equal(await runHelper(wrapper(capCopy), 4, packets, 200), null);
  });

  it('holds no privileges after the drop (cap and setuid installs)', async () => {
    for (const helper of [capCopy, suidCopy]) {
      const { packets, sports } = knock(4);
      const { child, done } = startAs(helper);
      child.stdin!.end(rawRequest(packets, { timeoutMs: 2000 }));
      await waitForSyns(sports, 3);
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const field = (k: string): string => (status.match(new RegExp(`^${k}:\\s*(.*)$`, 'm'))?.[1] ?? '').trim();
      assert.equal(field('Name'), 'tumbler-helper');
      assert.deepEqual(field('Uid').split(/\s+/).map(Number), [uid, uid, uid, uid]);
      assert.deepEqual(field('Gid').split(/\s+/).map(Number), [gid, gid, gid, gid]);
      assert.equal(BigInt(`0x${field('CapEff')}`), 0n);
      assert.equal(BigInt(`0x${field('CapPrm')}`), 0n);
      assert.equal(BigInt(`0x${field('CapInh')}`), 0n);
      assert.equal(BigInt(`0x${field('CapAmb')}`), 0n);
      assert.equal(field('NoNewPrivs'), '1');
      assert.equal((await done).code, 75);
    }
  });

  it('refuses malformed requests with exit 64 and sends nothing', async () => {
    const used: number[] = [];
    const k = (family: 4 | 6, over?: Partial<SegOpts>[]): Buffer[] => {
      const r = knock(family, over);
      used.push(...r.sports);
      return r.packets;
    };
    const corruptIpSum = (p: Buffer): void => { p[10] = (p[10] ?? 0) ^ 0xff; };
    const corruptTcpSum = (p: Buffer): void => { p[36] = (p[36] ?? 0) ^ 0x01; };
    const cases: Record<string, Buffer> = {
      'SYN+ACK flags': rawRequest(k(4, [{}, { flags: 0x12 }, {}])),
      'RST flags': rawRequest(k(4, [{ flags: 0x04 }, {}, {}])),
      'SYN+ECE/CWR flags': rawRequest(k(4, [{}, {}, { flags: 0xc2 }])),
      'payload present': rawRequest(k(4, [{}, {}, { payload: Buffer.from('hi') }])),
      'non-zero ACK field': rawRequest(k(4, [{ ack: 5 }, {}, {}])),
      'non-zero urgent pointer': rawRequest(k(4, [{}, { urgent: 1 }, {}])),
      'two packets': rawRequest(k(4).slice(0, 2)),
      'four packets': rawRequest([...k(4), ...k(4).slice(0, 1)]),
      'count byte says 3, four follow': rawRequest([...k(4), ...k(4).slice(0, 1)], { count: 3 }),
      'two different destinations': rawRequest(k(4, [{}, {}, { dst: '198.51.100.3' }])),
      'spoofed source address': rawRequest(k(4, [{ src: '198.51.100.99' }, { src: '198.51.100.99' }, { src: '198.51.100.99' }])),
      'repeated destination port': rawRequest(k(4, [{ dport: 40100 }, {}, { dport: 40100 }])),
      'bad IP checksum': rawRequest(k(4, [{}, { mutate: corruptIpSum }, {}])),
      'bad TCP checksum': rawRequest(k(4, [{}, {}, { mutate: corruptTcpSum }])),
      'oversize request': Buffer.concat([rawRequest(k(4)), Buffer.alloc(1100)]),
      'trailing bytes': Buffer.concat([rawRequest(k(4)), Buffer.alloc(1)]),
      'bad magic': rawRequest(k(4), { magic: 'TKH2' }),
      'bad family': rawRequest(k(4), { family: 5 }),
      'family mismatch': rawRequest(k(4), { family: 6 }),
      'timeout too small': rawRequest(k(4), { timeoutMs: 50 }),
      'timeout too large': rawRequest(k(4), { timeoutMs: 10001 }),
      'bad option kind': rawRequest(k(4, [{}, { options: Buffer.from([2, 4, 5, 0xb4, 30, 2, 1, 1]) }, {}])),
      'bad option length': rawRequest(k(4, [{ options: Buffer.from([2, 5, 5, 0xb4, 1, 1, 1, 1]) }, {}, {}])),
      'data after EOL option': rawRequest(k(4, [{ options: Buffer.from([2, 4, 5, 0xb4, 0, 9, 9, 9]) }, {}, {}])),
      'fragment (MF set)': rawRequest(k(4, [{}, { mutate: (p) => { p[6] = 0x20; p.writeUInt16BE(0, 10); p.writeUInt16BE(ipHeaderSum(p), 10); } }, {}])),
      'IPv6 extension header': rawRequest(k(6, [{}, { nextHeader: 0, ext: Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]) }, {}]), { family: 6 }),
      'empty request': Buffer.alloc(0),
    };
    for (const [name, req] of Object.entries(cases)) {
      const r = await runAs(capCopy, req);
      assert.equal(r.code, 64, `${name}: exit ${r.code} ${r.stderr}`);
      assert.equal(r.stdout.length, 0, name);
    }
    // A valid knock afterwards: once it shows up in the capture, anything sent earlier would have too.
    const sentinel = knock(4);
    assert.equal((await runAs(capCopy, rawRequest(sentinel.packets, { timeoutMs: 100 }))).code, 75);
    assert.equal((await waitForSyns(sentinel.sports, 3)).length, 3);
    const leaked = captured().filter((p) => {
      const t = tcpInfo(p);
      return t !== null && used.includes(t.sport) && t.src.equals(addrBytes(C4));
    });
    assert.equal(leaked.length, 0);
    await assert.rejects(runHelper(wrapper(capCopy), 4, k(4, [{}, { flags: 0x12 }, {}]), 500),
      (e) => isTumblerError(e, 'HELPER_BAD_REQUEST'));
  });

  it('exits 71 when it cannot open raw sockets (no capability, no setuid)', async () => {
    const r = await runAs(plain, rawRequest(knock(4).packets));
    assert.equal(r.code, 71);
    assert.equal(r.stdout.length, 0);
    await assert.rejects(runHelper(wrapper(plain), 4, knock(4).packets, 500), (e) => isTumblerError(e, 'HELPER_NOT_PRIVILEGED'));
  });

  it('reports HELPER_MISSING for a helper path that does not exist', async () => {
    await assert.rejects(runHelper(join(tmp, 'nope', 'tumbler-helper'), 4, knock(4).packets, 500),
      (e) => isTumblerError(e, 'HELPER_MISSING'));
  });
});

function ipHeaderSum(p: Buffer): number {
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += p.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * The helper against the host it runs on (docs/protocol.md §13, issue 12 §4), as root in network
 * namespaces (lab.ts), the helper run as `tmbuser`:
 *  - its raw sockets belong to the caller (the uid /proc/net/raw shows), cap and setuid installs;
 *  - they queue nothing while it waits for the request, and after it only the one SYN-ACK that can
 *    answer the knock; a request that never comes and a reply that never comes end by a deadline;
 *  - it sends only SYNs equal to the kernel's own for this host and route (window, MSS, window
 *    scale, SACK, timestamps — following tcp_rmem and route metrics), TTL 64, TOS / traffic class 0,
 *    DF, to a unicast destination, from ephemeral, unreserved source ports that the caller can bind
 *    and holds for the knock (another user's port is refused);
 *  - the client's own knock builder (client/knock/frames.ts, run in the namespace) agrees with it.
 * Each of these fails on the helper of 2905be5.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  C4, C6, FAR4, FAR6, HelperLab, OTHER, PYTHON, ROOT, S4, S6, USER, idOf, isRoot, sh, sleep, until, type Run, type Template,
} from './lab.js';
import { rawRequest, tcpInfo, type SegOpts } from './packets.js';

const KNOCK_TOOL = join(ROOT, 'test', 'unit', 'client', 'helper', 'fixtures', 'knock-via-helper.ts');

describe('tumbler-helper and the host', { skip: isRoot ? false : 'needs root' }, () => {
  let lab: HelperLab;
  let t4: Template;
  let t6: Template;
  let tmbuser = -1;

  before(async () => {
    lab = await HelperLab.create('x');
    t4 = await lab.kernelTemplate(S4);
    t6 = await lab.kernelTemplate(S6);
    tmbuser = idOf(USER).uid;
  });
  after(async () => {
    await lab?.close();
  });

  const knock = (family: 4 | 6, over?: Partial<SegOpts>[], tpl?: Template, dst?: string) =>
    lab.knock(family, tpl ?? (family === 4 ? t4 : t6), over, dst);

  /** Runs a request that must be refused (64) and checks that nothing of it reached the wire. */
  async function refused(name: string, family: 4 | 6, packets: Buffer[], helper = lab.capCopy, valid?: Template): Promise<void> {
    const r = await lab.runAs(helper, rawRequest(packets, { family, timeoutMs: 300 }));
    assert.equal(r.code, 64, `${name}: exit ${r.code} ${r.stderr}`);
    // A valid knock afterwards: once it is in the capture, the refused one would be too.
    const sentinel = knock(family, undefined, valid);
    assert.equal((await lab.runAs(helper, rawRequest(sentinel.packets, { family, timeoutMs: 100 }))).code, 75);
    assert.equal((await lab.waitForSent(sentinel.packets)).length, 3);
    assert.equal(lab.sent(packets).length, 0, `${name}: something was sent`);
  }

  /** Starts the helper and waits until its four raw sockets exist (it then waits for stdin). */
  async function startedAndWaiting(helper: string): Promise<{ child: ReturnType<HelperLab['start']>['child']; done: Promise<Run> }> {
    const s = lab.start([helper]);
    assert.ok(await until(() => HelperLab.rawSockets(s.child.pid!).length === 4), 'the helper opened its four raw sockets');
    return s;
  }

  it('its raw sockets belong to the caller: /proc/net/raw shows tmbuser\'s uid (cap and setuid installs)', async () => {
    for (const helper of [lab.capCopy, lab.suidCopy]) {
      const { child, done } = await startedAndWaiting(helper);
      const rows = HelperLab.rawSockets(child.pid!);
      assert.deepEqual(rows.map((r) => `${r.family}/${r.protocol}`).sort(), ['4/255', '4/6', '6/255', '6/6']);
      for (const r of rows) assert.equal(r.uid, tmbuser, `${helper}: IPv${r.family} protocol ${r.protocol} socket owned by uid ${r.uid}`);
      child.stdin!.end();
      assert.equal((await done).code, 64);
    }
  });

  it('per-uid egress policy applies to it: nftables `meta skuid tmbuser drop` stops its SYNs (setuid install)', async () => {
    const nft = (...args: string[]) => sh('ip', ['netns', 'exec', lab.nsC, 'nft', ...args]);
    nft('add', 'table', 'inet', 'tmbss');
    try {
      nft('add', 'chain', 'inet', 'tmbss', 'out', '{ type filter hook output priority 0; policy accept; }');
      nft('add', 'rule', 'inet', 'tmbss', 'out', 'meta', 'skuid', USER, 'tcp', 'flags', 'syn', 'drop');
      const { packets } = knock(4);
      const r = await lab.runAs(lab.suidCopy, rawRequest(packets, { timeoutMs: 300 }));
      assert.notEqual(r.code, 75, 'the helper reports it could not send');
      const sentinel = knock(4);
      nft('delete', 'table', 'inet', 'tmbss');
      assert.equal((await lab.runAs(lab.suidCopy, rawRequest(sentinel.packets, { timeoutMs: 100 }))).code, 75);
      assert.equal((await lab.waitForSent(sentinel.packets)).length, 3);
      assert.equal(lab.sent(packets).length, 0, 'the policy did not see tmbuser');
    } finally {
      spawnSync('ip', ['netns', 'exec', lab.nsC, 'nft', 'delete', 'table', 'inet', 'tmbss']);
    }
  });

  it('while it waits for the request its raw sockets queue none of the host\'s TCP', async () => {
    for (const helper of [lab.capCopy, lab.suidCopy]) {
      const { child, done } = await startedAndWaiting(helper);
      const before = lab.tcpInSegs();
      // Segments for the client: SYNs to a closed port and stray SYN-ACKs, both families.
      const syn = (family: 4 | 6, flags: number) => lab.synAck(family, knock(family).packets[0]!, Buffer.from('x'), { flags });
      lab.sendFromServer(4, C4, [syn(4, 0x02), syn(4, 0x12)]);
      lab.sendFromServer(6, C6, [syn(6, 0x02), syn(6, 0x12)]);
      assert.ok(await until(() => lab.tcpInSegs() >= before + 4), 'the client\'s stack received the segments');
      for (const r of HelperLab.rawSockets(child.pid!)) assert.equal(r.rxQueue, 0, `IPv${r.family}/${r.protocol} queued ${r.rxQueue} bytes`);
      child.stdin!.end();
      assert.equal((await done).code, 64);
    }
  });

  it('a request that never comes: exit 74 by its own deadline, not a hang', async () => {
    const { done } = lab.start([lab.capCopy]); // stdin stays open, nothing written
    const r = await Promise.race([done, sleep(20_000).then(() => null)]);
    assert.ok(r, 'the helper was still waiting after 20 s');
    assert.equal(r.code, 74, r.stderr);
  });

  for (const family of [4, 6] as const) {
    it(`after the request only the answer to packet 3 is queued (IPv${family}), and it is returned`, async () => {
      const { packets } = knock(family);
      const { child, done } = lab.start([lab.suidCopy]);
      child.stdin!.end(rawRequest(packets, { family, timeoutMs: 10_000 }));
      assert.equal((await lab.waitForSent(packets)).length, 3);
      // Frozen, it reads nothing: whatever is queued stays visible in rx_queue.
      process.kill(child.pid!, 'SIGSTOP');
      try {
        const recv = () => HelperLab.rawSockets(child.pid!).find((r) => r.protocol === 6)!;
        const [a, b, c] = packets as [Buffer, Buffer, Buffer];
        const wrong = [
          lab.synAck(family, c, Buffer.from('wrong ack'), { ackDelta: 2 }),
          lab.synAck(family, b, Buffer.from('answers packet 2')),
          lab.synAck(family, c, Buffer.from('to another port'), { dport: tcpInfo(a)!.sport }),
          lab.synAck(family, c, Buffer.from('from another port'), { sport: tcpInfo(b)!.dport }),
          lab.synAck(family, c, Buffer.from('RST'), { flags: 0x14 }),
          lab.synAck(family, c, Buffer.from('SYN'), { flags: 0x02 }),
          lab.synAck(family, c, Buffer.from('from another address'), { src: family === 4 ? FAR4 : FAR6 }),
        ];
        let seen = lab.tcpInSegs();
        lab.sendFromServer(family, family === 4 ? C4 : C6, wrong);
        assert.ok(await until(() => lab.tcpInSegs() >= seen + wrong.length), 'delivered');
        assert.equal(recv().rxQueue, 0, 'a segment other than the answer was queued');
        seen = lab.tcpInSegs();
        lab.sendFromServer(family, family === 4 ? C4 : C6, [lab.synAck(family, c, Buffer.from('the reply'))]);
        assert.ok(await until(() => lab.tcpInSegs() >= seen + 1), 'delivered');
        assert.ok(recv().rxQueue > 0, 'the answer was not queued');
      } finally {
        process.kill(child.pid!, 'SIGCONT');
      }
      const r = await done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.subarray(2).toString(), 'the reply');
    });
  }

  it('sends only what the kernel would: window, MSS, window scale, SACK, timestamps, TTL, TOS, DF', async () => {
    const opts = (f: (o: Buffer) => void, tpl = t4): Buffer => { const o = Buffer.from(tpl.options); f(o); return o; };
    const wsAt = t4.options.length - 1; // Linux puts NOP WSCALE last
    const cases: Array<[string, 4 | 6, Partial<SegOpts>]> = [
      ['window + 1', 4, { window: t4.window + 1 }],
      ['window - 1', 4, { window: t4.window - 1 }],
      ['window 65535', 4, { window: 65535 }],
      ['window scale 7 (a knock of 2905be5 on this host)', 4, { options: opts((o) => { o[wsAt] = 7; }) }],
      ['window scale + 1', 6, { options: opts((o) => { o[o.length - 1]! += 1; }, t6) }],
      ['MSS - 1', 4, { options: opts((o) => o.writeUInt16BE(o.readUInt16BE(2) - 1, 2)) }],
      ['no SACK-permitted', 4, { options: opts((o) => { o[4] = 1; o[5] = 1; }) }],
      ['non-zero tsEcr', 4, { options: opts((o) => { o[15] = 1; }) }],
      ['no window scale option', 4, { options: t4.options.subarray(0, t4.options.length - 4) }],
      ['TTL 63', 4, { ttl: 63 }],
      ['TTL 2', 4, { ttl: 2 }],
      ['TOS 0x10', 4, { tos: 0x10 }],
      ['TOS 0xff', 4, { tos: 0xff }],
      ['DF clear', 4, { frag: 0 }],
      ['hop limit 255', 6, { ttl: 255 }],
      ['traffic class 0x20', 6, { tclass: 0x20 }],
    ];
    for (const [name, family, o] of cases) {
      const { packets } = knock(family, [{}, o, {}]);
      await refused(name, family, packets);
    }
  });

  it('the host\'s settings decide: a changed tcp_rmem changes the scale the helper wants, and the kernel\'s follows', async () => {
    lab.sysctl('net.ipv4.tcp_rmem', '4096 87380 6291456');
    try {
      const now = await lab.kernelTemplate(S4);
      assert.notEqual(now.window, t4.window, 'the kernel\'s window changed');
      const old = knock(4);
      await refused('the knock shape from before the change', 4, old.packets, lab.capCopy, now);
      const fresh = knock(4, undefined, now);
      assert.equal((await lab.runAs(lab.capCopy, rawRequest(fresh.packets, { timeoutMs: 100 }))).code, 75);
      assert.deepEqual(await lab.waitForSent(fresh.packets), fresh.packets);
    } finally {
      lab.sysctl('net.ipv4.tcp_rmem', sh('sysctl', ['-n', 'net.ipv4.tcp_rmem']).trim());
    }
  });

  it('the route decides: MSS, window and scale of a route with mtu/advmss/window metrics (IPv4) and mtu (IPv6)', async () => {
    for (const [family, far] of [[4, FAR4], [6, FAR6]] as const) {
      const tpl = await lab.kernelTemplate(far);
      const plain = family === 4 ? t4 : t6;
      assert.notDeepEqual(tpl, plain, 'the route changes the kernel\'s SYN');
      const good = knock(family, undefined, tpl, far);
      assert.equal((await lab.runAs(lab.capCopy, rawRequest(good.packets, { family, timeoutMs: 100 }))).code, 75);
      assert.equal((await lab.waitForSent(good.packets)).length, 3);
      const bad = knock(family, undefined, plain, far);
      await refused(`IPv${family} knock shaped for the plain route`, family, bad.packets);
    }
  });

  it('destinations: loopback, this host\'s own address, broadcast, multicast, IPv4-mapped are refused', async () => {
    const cases: Array<[string, 4 | 6, Partial<SegOpts>]> = [
      ['127.0.0.1', 4, { src: '127.0.0.1', dst: '127.0.0.1' }],
      ['own address', 4, { src: C4, dst: C4 }],
      ['subnet broadcast', 4, { dst: '198.51.100.255' }],
      ['limited broadcast', 4, { dst: '255.255.255.255' }],
      ['multicast', 4, { dst: '224.0.0.1' }],
      ['::1', 6, { src: '::1', dst: '::1' }],
      ['own IPv6 address', 6, { src: C6, dst: C6 }],
      ['IPv4-mapped', 6, { dst: '::ffff:198.51.100.1' }],
      ['IPv6 multicast', 6, { dst: 'ff02::1' }],
    ];
    for (const [name, family, o] of cases) {
      const { packets } = knock(family, [o, o, o]);
      await refused(name, family, packets);
    }
  });

  it('source ports: only the ephemeral range, never a reserved port', async () => {
    for (const port of [22, 111, 2049, 20000, 32767, 61000]) {
      const { packets } = knock(4, [{}, { sport: port }, {}]);
      await refused(`source port ${port}`, 4, packets);
    }
    lab.sysctl('net.ipv4.ip_local_reserved_ports', '45000-45010');
    try {
      const { packets } = knock(4, [{}, {}, { sport: 45004 }]);
      await refused('reserved port', 4, packets);
    } finally {
      lab.sysctl('net.ipv4.ip_local_reserved_ports', '');
    }
  });

  it('another user\'s port is refused: a live connection, a listener', async () => {
    // Another account holds a connection from one ephemeral port and listens (dual stack) on another.
    const [connPort, listenPort] = lab.ports(2) as [number, number];
    const holder = lab.start([PYTHON, '-c', [
      'import socket,sys',
      `srv=socket.socket();srv.bind(("${C4}",7000));srv.listen()`,
      `c=socket.socket();c.bind(("${C4}",${connPort}));c.connect(("${C4}",7000));a=srv.accept()`,
      `l=socket.socket(socket.AF_INET6);l.bind(("::",${listenPort}));l.listen()`,
      'print("ready",flush=True);sys.stdin.read()',
    ].join('\n')], OTHER);
    try {
      const ready = await Promise.race([new Promise<boolean>((r) => holder.child.stdout!.once('data', () => r(true))), sleep(10_000).then(() => false)]);
      assert.ok(ready, 'the other account\'s sockets are up');
      for (const port of [connPort, listenPort]) {
        const { packets } = knock(4, [{ sport: port }, {}, {}]);
        await refused(`port ${port} held by ${OTHER}`, 4, packets, lab.suidCopy);
      }
    } finally {
      holder.child.stdin!.end();
      await holder.done;
    }
  });

  it('holds its source ports for the knock: nobody can bind them meanwhile', async () => {
    const { packets, sports } = knock(4);
    const { child, done } = lab.start([lab.capCopy]);
    child.stdin!.end(rawRequest(packets, { timeoutMs: 3000 }));
    await lab.waitForSent(packets);
    const tryBind = (port: number): string => spawnSync('ip', lab.asUser(OTHER, [PYTHON, '-c',
      `import socket\ns=socket.socket()\ntry:\n  s.bind(("${C4}",${port}));print("bound")\nexcept OSError as e: print(e.errno)`]), { encoding: 'utf8' }).stdout.trim();
    for (const p of sports) assert.equal(tryBind(p), '98', `port ${p} (EADDRINUSE while the helper runs)`);
    assert.equal((await done).code, 75);
    for (const p of sports) assert.equal(tryBind(p), 'bound', `port ${p} after the helper exited`);
  });

  it('the client\'s knock builder, run in the namespace, produces SYNs the helper sends and the kernel would', async () => {
    const run = (dst: string): { outcome: string; code?: string; ports?: number[]; isns?: number[] } => {
      const r = spawnSync('ip', lab.asUser(USER, [process.execPath, '--import', 'tsx', KNOCK_TOOL, lab.capCopy, dst, '200']),
        { encoding: 'utf8', cwd: ROOT, timeout: 60_000 });
      return JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
    };
    const check = async (dst: string, family: 4 | 6): Promise<void> => {
      const got = run(dst);
      assert.equal(got.outcome, 'timeout', `${dst}: ${JSON.stringify(got)}`);
      // This knock's SYNs only: its ISNs are random, so an earlier knock reusing a source port is not counted.
      const isns = new Set(got.isns);
      const knockSyn = (p: Buffer): boolean => { const t = tcpInfo(p)!; return t.dport >= 40_001 && t.dport <= 40_003 && isns.has(t.seq); };
      await until(() => lab.synsFrom(got.ports!).filter(knockSyn).length >= 3);
      const syns = lab.synsFrom(got.ports!).filter(knockSyn);
      assert.equal(syns.length, 3);
      const tpl = await lab.kernelTemplate(dst);
      for (const s of syns) {
        const t = tcpInfo(s)!;
        assert.equal(t.window, tpl.window, `${dst}: window`);
        const tsAt = tpl.options.indexOf(8);
        const mask = (o: Buffer) => { const c = Buffer.from(o); if (tsAt >= 0) c.fill(0, tsAt + 2, tsAt + 6); return c; };
        assert.deepEqual(mask(t.options), mask(tpl.options), `${dst}: options`);
        assert.equal(s[family === 4 ? 8 : 7], 64);
      }
    };
    await check(S4, 4);
    await check(S6, 6);
    await check(FAR4, 4);
    await check(FAR6, 6);
    lab.sysctl('net.ipv4.tcp_rmem', '4096 65536 1048576');
    lab.sysctl('net.ipv4.tcp_timestamps', '0');
    try {
      await check(S4, 4);
      await check(S6, 6);
    } finally {
      lab.sysctl('net.ipv4.tcp_rmem', sh('sysctl', ['-n', 'net.ipv4.tcp_rmem']).trim());
      lab.sysctl('net.ipv4.tcp_timestamps', '1');
    }
  });
});

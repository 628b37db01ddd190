/**
 * The raw-socket helper (client/helper/*.c) and its JS side (client/transport/helper.ts,
 * install-helper.ts), tested for real as root (lab.ts): the helper runs as the unprivileged
 * `tmbuser` in a client namespace, installed with cap_net_raw and setuid root; valid knocks are
 * shaped like the kernel's own SYN there. This file: sending, replies, the privilege drop, the
 * request format. helper-host.test.ts: the §13 rules checked against the host, the socket filters,
 * the sockets' owner and the deadlines.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runHelper } from '../../../../client/transport/helper.js';
import { isTumblerError } from '../../../../shared/errors.js';
import { C4, C6, HelperLab, S6, idOf, isRoot, sh, USER, type Template } from './lab.js';
import { rawRequest, type SegOpts } from './packets.js';

describe('tumbler-helper', { skip: isRoot ? false : 'needs root' }, () => {
  let lab: HelperLab;
  let t4: Template;
  let t6: Template;

  before(async () => {
    lab = await HelperLab.create('h');
    t4 = await lab.kernelTemplate('198.51.100.1');
    t6 = await lab.kernelTemplate(S6);
  });
  after(async () => {
    await lab?.close();
  });

  const knock = (family: 4 | 6, over?: Partial<SegOpts>[]) => lab.knock(family, family === 4 ? t4 : t6, over);

  it('installs root-owned copies: cap_net_raw+ep at 0755, setuid at 4755', () => {
    const c = statSync(lab.capCopy);
    assert.equal(c.uid, 0);
    assert.equal(c.mode & 0o7777, 0o755);
    assert.match(sh('getcap', [lab.capCopy]), /cap_net_raw[=+]ep/);
    const s = statSync(lab.suidCopy);
    assert.equal(s.uid, 0);
    assert.equal(s.mode & 0o7777, 0o4755);
  });

  it('sends exactly the requested SYNs, byte for byte, and exits 75 without a reply', async () => {
    for (const helper of [lab.capCopy, lab.suidCopy]) {
      for (const family of [4, 6] as const) {
        const { packets } = knock(family);
        const r = await lab.runAs(helper, rawRequest(packets, { timeoutMs: 300, family }));
        assert.equal(r.code, 75, r.stderr);
        assert.equal(r.stdout.length, 0);
        assert.deepEqual(await lab.waitForSent(packets), packets);
      }
    }
  });

  it('returns the payload of the matching SYN-ACK (IPv4), skipping others', async () => {
    const { packets } = knock(4);
    const payload = Buffer.from('sealed-reply-payload-0123456789');
    const pending = runHelper(lab.wrapper(lab.capCopy), 4, packets, 5000);
    await lab.waitForSent(packets);
    lab.sendFromServer(4, C4, [
      lab.synAck(4, packets[2]!, Buffer.from('wrong ack'), { ackDelta: 2 }),
      lab.synAck(4, packets[1]!, Buffer.from('wrong port')),
      lab.synAck(4, packets[2]!, Buffer.alloc(0)),
      lab.synAck(4, packets[2]!, Buffer.from('SYN+ACK+ECE'), { flags: 0x52 }),
      lab.synAck(4, packets[2]!, payload),
    ]);
    assert.deepEqual(await pending, payload);
  });

  it('returns the payload of the matching SYN-ACK (IPv6)', async () => {
    const { packets } = knock(6);
    const payload = Buffer.alloc(512, 7);
    const pending = runHelper(lab.wrapper(lab.suidCopy), 6, packets, 5000);
    assert.deepEqual(await lab.waitForSent(packets), packets);
    lab.sendFromServer(6, C6, [lab.synAck(6, packets[2]!, Buffer.from('wrong ack'), { ackDelta: 0 }), lab.synAck(6, packets[2]!, payload)]);
    assert.deepEqual(await pending, payload);
  });

  it('runHelper resolves null when no reply comes in time', async () => {
    const { packets } = knock(4);
    assert.equal(await runHelper(lab.wrapper(lab.capCopy), 4, packets, 200), null);
  });

  it('holds no privileges after the drop (cap and setuid installs), fsuid included', async () => {
    const { uid, gid } = idOf(USER);
    for (const helper of [lab.capCopy, lab.suidCopy]) {
      const { packets } = knock(4);
      const { child, done } = lab.start([helper]);
      child.stdin!.end(rawRequest(packets, { timeoutMs: 3000 }));
      await lab.waitForSent(packets);
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
    const used: Buffer[] = [];
    const k = (family: 4 | 6, over?: Partial<SegOpts>[]): Buffer[] => {
      const r = knock(family, over);
      used.push(...r.packets);
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
      'fragment (MF set)': rawRequest(k(4, [{}, { frag: 0x6000 }, {}])),
      'IPv6 extension header': rawRequest(k(6, [{}, { nextHeader: 0, ext: Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]) }, {}]), { family: 6 }),
      'empty request': Buffer.alloc(0),
    };
    for (const [name, req] of Object.entries(cases)) {
      const r = await lab.runAs(lab.capCopy, req);
      assert.equal(r.code, 64, `${name}: exit ${r.code} ${r.stderr}`);
      assert.equal(r.stdout.length, 0, name);
    }
    // A valid knock afterwards: once it shows up in the capture, anything sent earlier would have too.
    const sentinel = knock(4);
    assert.equal((await lab.runAs(lab.capCopy, rawRequest(sentinel.packets, { timeoutMs: 100 }))).code, 75);
    assert.equal((await lab.waitForSent(sentinel.packets)).length, 3);
    assert.equal(lab.sent(used).length, 0);
    await assert.rejects(runHelper(lab.wrapper(lab.capCopy), 4, k(4, [{}, { flags: 0x12 }, {}]), 500),
      (e) => isTumblerError(e, 'HELPER_BAD_REQUEST'));
  });

  it('exits 71 when it cannot open raw sockets (no capability, no setuid)', async () => {
    const r = await lab.runAs(lab.plain, rawRequest(knock(4).packets));
    assert.equal(r.code, 71);
    assert.equal(r.stdout.length, 0);
    await assert.rejects(runHelper(lab.wrapper(lab.plain), 4, knock(4).packets, 500), (e) => isTumblerError(e, 'HELPER_NOT_PRIVILEGED'));
  });

  it('reports HELPER_MISSING for a helper path that does not exist', async () => {
    await assert.rejects(runHelper(join(lab.tmp, 'nope', 'tumbler-helper'), 4, knock(4).packets, 500),
      (e) => isTumblerError(e, 'HELPER_MISSING'));
  });
});

/**
 * The knock frames (client/knock/frames.ts): send order, source ports drawn like the kernel's
 * connect() (ephemeral range, the range start's parity first, never excluded, distinct), and SYNs
 * in the host's shape with a fresh IP ID / flow label each.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildKnockFrames, ephemeralPorts } from '../../../../client/knock/frames.js';
import { describeSyn } from '../../../../client/knock/wire.js';
import type { HostSyn } from '../../../../client/transport/host-tcp.js';
import { decodeTcpOptions, parseIpTcp } from '../../../../shared/packet/tcp.js';
import type { Knock } from '../../../../shared/protocol/knock.js';
import { isTumblerError } from '../../../../shared/errors.js';
import { seededRandom } from './fake-server.js';

const KNOCK = [{ dstPort: 40001, isn: 1 }, { dstPort: 40002, isn: 2 }, { dstPort: 40003, isn: 3 }] as unknown as Knock;
const HOST: HostSyn = {
  fields: { window: 65_280, mss: 1360, wscale: 10, sackPermitted: true, timestamps: true },
  ports: { first: 32_768, last: 60_999, excluded: new Set() },
};

describe('source ports', () => {
  test('three distinct ports of the range, with the parity of its first port (Linux connect())', () => {
    const r = seededRandom(11);
    for (const range of [{ first: 32_768, last: 60_999 }, { first: 20_001, last: 20_100 }]) {
      for (let i = 0; i < 200; i++) {
        const p = ephemeralPorts(r, { ...range, excluded: new Set() });
        assert.equal(new Set(p).size, 3);
        for (const x of p) {
          assert.ok(x >= range.first && x <= range.last, String(x));
          assert.equal((x - range.first) % 2, 0, `parity of ${x}`);
        }
      }
    }
  });

  test('never a reserved or busy port; the other parity when one parity is all taken', () => {
    const r = seededRandom(3);
    const range = { first: 40_000, last: 40_009 };
    const excluded = new Set([40_000, 40_002, 40_004, 40_006, 40_008, 40_001]);
    for (let i = 0; i < 50; i++) {
      const p = ephemeralPorts(r, { ...range, excluded });
      assert.deepEqual([...p].sort(), [40_003, 40_005, 40_007, 40_009].filter((x) => p.includes(x)).sort());
      assert.equal(new Set(p).size, 3);
    }
  });

  test('NO_EPHEMERAL_PORT when fewer than three ports are free', () => {
    const range = { first: 40_000, last: 40_003, excluded: new Set([40_000, 40_001]) };
    assert.throws(() => ephemeralPorts(seededRandom(1), range), (e) => isTumblerError(e, 'NO_EPHEMERAL_PORT'));
  });
});

describe('knock frames', () => {
  test('the packet to ports[2] goes last; the first two come in either order', () => {
    const r = seededRandom(5);
    const firsts = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const f = buildKnockFrames(4, '198.51.100.2', '192.0.2.1', KNOCK, r, HOST);
      const syns = f.packets.map(describeSyn);
      assert.equal(syns[2]!.dstPort, 40003);
      assert.equal(syns[2]!.isn, 3);
      assert.equal(syns[2]!.srcPort, f.srcPorts[2]);
      firsts.add(syns[0]!.dstPort);
    }
    assert.deepEqual([...firsts].sort(), [40001, 40002]);
  });

  test('every SYN carries the host\'s window, MSS and options; IP IDs and flow labels are per SYN', () => {
    for (const family of [4, 6] as const) {
      const [src, dst] = family === 4 ? ['198.51.100.2', '192.0.2.1'] : ['2001:db8::2', '2001:db8::1'];
      const f = buildKnockFrames(family, src, dst, KNOCK, seededRandom(9), HOST);
      const parsed = f.packets.map((p) => parseIpTcp(p));
      for (const p of parsed) {
        assert.equal(p.window, 65_280);
        const o = decodeTcpOptions(p.tcpOptions);
        assert.deepEqual([o.mss, o.wscale, o.sackPermitted, o.order], [1360, 10, true, [2, 4, 8, 1, 3]]);
      }
      const perSyn = family === 4 ? parsed.map((p) => p.ipId) : f.packets.map((p) => p.readUInt32BE(0) & 0xfffff);
      assert.equal(new Set(perSyn).size, 3, `IPv${family}: ${perSyn.join(',')}`);
      assert.ok(f.srcPorts.every((p) => p % 2 === 0));
    }
  });
});

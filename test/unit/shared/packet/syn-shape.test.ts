/** The Linux SYN shape: fixed fields per family, randomness only from the injected source. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseSynShape, nextConnection } from '../../../../shared/packet/syn-shape.js';
import { buildSyn, parseIpTcp } from '../../../../shared/packet/tcp.js';
import { fixedRandom, throwsCode } from './helpers.js';

test('IPv4 shape: Linux values, IP ID and tsVal from random, DF, no flow label', () => {
  const s = chooseSynShape(4, fixedRandom('a1b2c3d4e5f60718'));
  assert.deepEqual(s, {
    family: 4, ttl: 64, ipId: 0xa1b2, flowLabel: 0, df: true, window: 64240, mss: 1460,
    sackPermitted: true, timestamps: true, wscale: 7, tsVal: 0xe5f60718, tsEcr: 0,
  });
});

test('IPv6 shape: Linux values, 20-bit flow label and tsVal from random, no IP ID', () => {
  const s = chooseSynShape(6, fixedRandom('a1b2c3d4e5f60718'));
  assert.deepEqual(s, {
    family: 6, ttl: 64, ipId: 0, flowLabel: 0x2c3d4, df: true, window: 64800, mss: 1440,
    sackPermitted: true, timestamps: true, wscale: 7, tsVal: 0xe5f60718, tsEcr: 0,
  });
  assert.equal(chooseSynShape(6, fixedRandom('00fff00000000000')).flowLabel, 0xff000);
  assert.equal(chooseSynShape(6, fixedRandom('ff00000000000000')).flowLabel, 1, 'a zero flow label is never used');
});

test('host fields replace the defaults: window, MSS, scale and which options', () => {
  const host = { window: 42_340, mss: 1360, wscale: null, sackPermitted: false, timestamps: false };
  const s = chooseSynShape(4, fixedRandom('a1b2c3d4e5f60718'), host);
  assert.deepEqual({ window: s.window, mss: s.mss, wscale: s.wscale, sackPermitted: s.sackPermitted, timestamps: s.timestamps }, host);
  assert.equal(s.ipId, 0xa1b2, 'randomness drawn as without host fields');
});

test('two shapes from different random differ in IP ID / flow label and tsVal; built SYNs differ in ISN', () => {
  for (const family of [4, 6] as const) {
    const a = chooseSynShape(family, fixedRandom('0102030405060708'));
    const b = chooseSynShape(family, fixedRandom('f1f2f3f4f5f6f7f8'));
    if (family === 4) assert.notEqual(a.ipId, b.ipId);
    else assert.notEqual(a.flowLabel, b.flowLabel);
    assert.notEqual(a.tsVal, b.tsVal);
    const base = { family, src: family === 4 ? '192.0.2.1' : '2001:db8::1', dst: family === 4 ? '192.0.2.2' : '2001:db8::2', srcPort: 50000, dstPort: 40000 };
    const pa = parseIpTcp(buildSyn({ ...base, isn: 0x11111111, shape: a }));
    const pb = parseIpTcp(buildSyn({ ...base, isn: 0x22222222, shape: b }));
    assert.notEqual(pa.seq, pb.seq);
    assert.notDeepEqual(pa.tcpOptions, pb.tcpOptions);
    if (family === 4) assert.notEqual(pa.ipId, pb.ipId);
  }
});

test('the shape draws from the injected random only (same bytes, same shape)', () => {
  assert.deepEqual(chooseSynShape(4, fixedRandom('5555aaaa12345678')), chooseSynShape(4, fixedRandom('5555aaaa12345678')));
  let asked = 0;
  chooseSynShape(6, (n) => { asked += n; return Buffer.alloc(n); });
  assert.equal(asked, 8);
});

test('nextConnection: fresh IP ID / flow label, timestamp advanced by elapsed ms, modulo 2^32', () => {
  const s4 = chooseSynShape(4, fixedRandom('0001ffffffff0000'));
  const n4 = nextConnection(s4, fixedRandom('beef00'), 250.9);
  assert.equal(n4.ipId, 0xbeef);
  assert.equal(n4.tsVal, (0xffff0000 + 250) >>> 0);
  assert.equal(nextConnection({ ...s4, tsVal: 0xffffffff }, fixedRandom('000000'), 2).tsVal, 1);
  assert.equal(nextConnection(s4, fixedRandom('000000'), -5).tsVal, s4.tsVal);
  const s6 = chooseSynShape(6, fixedRandom('0000000000000001'));
  const n6 = nextConnection(s6, fixedRandom('0abcde'));
  assert.equal(n6.flowLabel, 0xabcde);
  assert.equal(n6.tsVal, 1);
  assert.equal(n6.window, 64800);
});

test('bad family or a short random source throw typed errors', () => {
  throwsCode(() => chooseSynShape(5 as 4, fixedRandom('00')), 'PACKET_BUILD_INVALID');
  throwsCode(() => chooseSynShape(4, () => Buffer.alloc(2)), 'PACKET_RANDOM');
  throwsCode(() => nextConnection(chooseSynShape(4, fixedRandom('00')), () => Buffer.alloc(0)), 'PACKET_RANDOM');
});

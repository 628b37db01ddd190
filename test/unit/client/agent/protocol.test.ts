/**
 * The agent socket protocol (client/agent/protocol.ts, docs/protocol.md Appendix B): hex vectors
 * byte-exact in both directions, and every malformed body refused with its code before any use.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AGENT_HEADER_BYTES, MAX_AGENT_BODY, bodyLength, decodeReply, decodeRequest, encodeAnswer, encodeFailure, encodeRequest, type AgentRequest,
} from '../../../../client/agent/protocol.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const SALT = Buffer.alloc(16, 0x5a);
const body = (frameHex: string): Buffer => Buffer.from(frameHex, 'hex').subarray(AGENT_HEADER_BYTES);

// frame = u32 length | version 01 | op | fields
const REQUESTS: Array<[string, AgentRequest, string]> = [
  ['open work/ssh, 1000 ms', { op: 'open', profile: 'work', service: 'ssh', timeoutMs: 1000, publicAddress: '', gateway: '' },
    '0000000f' + '0101' + '04776f726b' + '03737368' + '03e8' + '00' + '00'],
  ['open defaults, public address', { op: 'open', profile: 'a', service: '', timeoutMs: 0, publicAddress: '203.0.113.9', gateway: '' },
    '00000014' + '0101' + '0161' + '00' + '0000' + '0b3230332e302e3131332e39' + '00'],
  ['open work/ssh on one gateway', { op: 'open', profile: 'work', service: 'ssh', timeoutMs: 0, publicAddress: '', gateway: '2001:db8::1' },
    '0000001a' + '0101' + '04776f726b' + '03737368' + '0000' + '00' + '0b323030313a6462383a3a31'],
  ['unlock for an hour', { op: 'unlock', profile: 'work', key: KEY, kdf: { salt: SALT, N: 32768, r: 8, p: 1 }, lifetimeSec: 3600 },
    '00000039' + '0102' + '04776f726b' + '10' + KEY.toString('hex') + '10' + SALT.toString('hex') + '00008000' + '00000008' + '00000001' + '00000e10'],
  ['lock all', { op: 'lock', profile: '' }, '00000003' + '0103' + '00'],
  ['list', { op: 'list' }, '00000002' + '0104'],
  ['stop', { op: 'stop' }, '00000002' + '0105'],
];

describe('agent protocol: requests', () => {
  for (const [name, req, hex] of REQUESTS) {
    test(`${name}: encodes to the vector and decodes back`, () => {
      assert.equal(encodeRequest(req).toString('hex'), hex);
      assert.deepEqual(decodeRequest(body(hex)), req);
    });
  }

  test('refuses another version, an unknown op, a short body, trailing bytes, a key of the wrong size', () => {
    const code = (hex: string): string => { try { decodeRequest(Buffer.from(hex, 'hex')); return 'none'; } catch (e) { return (e as { code: string }).code; } };
    assert.equal(code('0204'), 'AGENT_VERSION');
    assert.equal(code('0109'), 'AGENT_BAD_OP');
    assert.equal(code('01'), 'AGENT_BAD_FRAME');
    assert.equal(code('010104776f72'), 'AGENT_BAD_FRAME'); // str8 cut short
    assert.equal(code('010400'), 'AGENT_BAD_FRAME'); // list takes no field
    assert.equal(code('0102' + '0161' + '0f' + '00'.repeat(15) + '10' + SALT.toString('hex') + '00008000000000080000000100000e10'), 'AGENT_BAD_FRAME'); // 15-byte key
    assert.equal(code('0101' + '02ffff' + '00' + '0000' + '00'), 'AGENT_BAD_FRAME'); // not UTF-8
  });

  test('frame lengths outside 2..MAX_AGENT_BODY are refused from the header alone', () => {
    const head = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
    assert.equal(bodyLength(head(2)), 2);
    assert.equal(bodyLength(head(MAX_AGENT_BODY)), MAX_AGENT_BODY);
    for (const n of [0, 1, MAX_AGENT_BODY + 1, 0xffffffff]) assert.throws(() => bodyLength(head(n)), { code: 'AGENT_BAD_FRAME' });
    assert.throws(() => encodeRequest({ op: 'open', profile: 'x'.repeat(300), service: '', timeoutMs: 0, publicAddress: '', gateway: '' }), { code: 'AGENT_BAD_FRAME' });
  });
});

describe('agent protocol: replies', () => {
  test('open answer: server, port and the result as JSON', () => {
    const hex = '0000001e' + '0100' + '093139322e302e322e31' + 'c3cb' + '000e' + Buffer.from('{"port":50123}').toString('hex');
    const a = { server: '192.0.2.1', port: 50123, result: { port: 50123 } };
    assert.equal(encodeAnswer('open', a).toString('hex'), hex);
    assert.deepEqual(decodeReply('open', body(hex)), { ok: true, answer: a });
  });

  test('failure: exit status, code and message', () => {
    const hex = '00000018' + '0101' + '0b' + '0c4147454e545f4c4f434b4544' + '0006' + Buffer.from('locked').toString('hex');
    const f = { exitCode: 11, code: 'AGENT_LOCKED', message: 'locked' };
    assert.equal(encodeFailure(f).toString('hex'), hex);
    assert.deepEqual(decodeReply('open', body(hex)), { ok: false, error: f });
  });

  test('unlock, lock, list, stop answers round-trip', () => {
    const rt = <K extends 'unlock' | 'lock' | 'list' | 'stop'>(op: K, a: Parameters<typeof encodeAnswer<K>>[1]): void => {
      assert.deepEqual(decodeReply(op, encodeAnswer(op, a).subarray(AGENT_HEADER_BYTES)), { ok: true, answer: a });
    };
    rt('unlock', { lifetimeSec: 28800 });
    rt('lock', { forgotten: 3 });
    rt('list', { pid: 1234, unlocked: [{ profile: 'a', expiresInSec: 10 }, { profile: 'b', expiresInSec: null }] });
    rt('stop', {});
    assert.equal(encodeAnswer('unlock', { lifetimeSec: 0 }).toString('hex'), '00000006' + '0100' + '00000000');
  });

  test('refuses a bad status, a port of 0, a bad error code, a list that is not a list', () => {
    const code = (op: 'open' | 'list', hex: string): string => { try { decodeReply(op, Buffer.from(hex, 'hex')); return 'none'; } catch (e) { return (e as { code: string }).code; } };
    assert.equal(code('open', '0107'), 'AGENT_BAD_FRAME');
    assert.equal(code('open', '0100' + '0161' + '0000' + '0002' + '7b7d'), 'AGENT_BAD_FRAME');
    assert.equal(code('open', '0101' + '01' + '036e6f21' + '0000'), 'AGENT_BAD_FRAME');
    assert.equal(code('list', '0100' + '00000001' + '0002' + '7b7d'), 'AGENT_BAD_FRAME');
    assert.equal(code('open', '0300'), 'AGENT_VERSION');
  });
});

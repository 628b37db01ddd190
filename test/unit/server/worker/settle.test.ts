/** Which decisions settle pending packets, and which pending packets belong to a sequence. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inSequence, settles } from '../../../../server/worker/settle.js';
import type { Decision } from '../../../../server/worker/verifier.js';

const reject = (reason: string): Decision => ({ kind: 'reject', reason } as Decision);

test('decisions after the MAC settle; the ones before it (anyone can cause them) do not', () => {
  for (const r of ['NO_SEQUENCE', 'MAC_RATE', 'KNOCK_SHAPE', 'KNOCK_MAC']) assert.equal(settles(reject(r)), false, r);
  for (const r of ['KNOCK_STALE', 'KNOCK_DECLARATION', 'REPLAY', 'USER_DISABLED', 'SERVICE_DENIED', 'PROBE_REPLAY']) assert.equal(settles(reject(r)), true, r);
  assert.equal(settles({ kind: 'resend' } as Decision), true);
});

test('inSequence: a packet at one of the ports with that port\'s tag', () => {
  const sequence = { ports: [40010, 40500, 40900], tags: [0x11, 0x22, 0x33] } as const;
  const at = (dstPort: number, tag: number) => ({ dstPort, isn: ((tag << 24) | 0xabcdef) >>> 0, srcPort: 1, dstAddress: 'x', atMs: 0 });
  const is = inSequence(sequence);
  assert.equal(is(at(40010, 0x11)), true);
  assert.equal(is(at(40900, 0x33)), true);
  assert.equal(is(at(40010, 0x22)), false);
  assert.equal(is(at(40011, 0x11)), false);
});

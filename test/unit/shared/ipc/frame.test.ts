/** Monitor IPC framing: hex vectors both ways, reassembly across any cut, the size cap, bad bodies. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, FrameDecoder, FRAME_HEADER_BYTES, MAX_FRAME } from '../../../../shared/ipc/index.js';
import { codeOf } from '../../../helpers/error-code.js';


// {"op":"list","id":1} is 20 bytes.
const LIST_HEX = '00000014' + Buffer.from('{"op":"list","id":1}').toString('hex');

test('encodeFrame: 4-byte big-endian length then the JSON body (hex vector)', () => {
  assert.equal(encodeFrame({ op: 'list', id: 1 }).toString('hex'), LIST_HEX);
});

test('FrameDecoder: the hex vector decodes to the object', () => {
  assert.deepEqual(new FrameDecoder().push(Buffer.from(LIST_HEX, 'hex')), [{ op: 'list', id: 1 }]);
});

test('a frame cut at every byte reassembles; several frames in one chunk all come out', () => {
  const frames = [
    encodeFrame({ op: 'hello', id: 1, pid: 42 }),
    encodeFrame({ op: 'close', id: 2, family: 6, address: '2001:db8::7', port: 50001 }),
    encodeFrame({ op: 'list', id: 3, note: 'é' }), // multi-byte UTF-8 may be split too
  ];
  const stream = Buffer.concat(frames);
  const expected = [
    { op: 'hello', id: 1, pid: 42 },
    { op: 'close', id: 2, family: 6, address: '2001:db8::7', port: 50001 },
    { op: 'list', id: 3, note: 'é' },
  ];
  // One byte at a time.
  const d = new FrameDecoder();
  const out: unknown[] = [];
  for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
  assert.deepEqual(out, expected);
  assert.equal(d.buffered, 0);
  // Two pieces, cut everywhere.
  for (let cut = 0; cut <= stream.length; cut++) {
    const d2 = new FrameDecoder();
    const got = [...d2.push(stream.subarray(0, cut)), ...d2.push(stream.subarray(cut))];
    assert.deepEqual(got, expected, `cut at ${cut}`);
  }
  // All at once.
  assert.deepEqual(new FrameDecoder().push(stream), expected);
});

test('a truncated frame stays buffered until its last byte arrives', () => {
  const f = encodeFrame({ op: 'list', id: 9 });
  const d = new FrameDecoder();
  assert.deepEqual(d.push(f.subarray(0, 2)), []); // half a header
  assert.deepEqual(d.push(f.subarray(2, f.length - 1)), []); // all but one byte
  assert.equal(d.buffered, f.length - 1);
  assert.deepEqual(d.push(f.subarray(f.length - 1)), [{ op: 'list', id: 9 }]);
});

test('IPC_OVERSIZE: a length header over the cap is refused before any body byte', () => {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32BE(MAX_FRAME + 1);
  assert.equal(codeOf(() => new FrameDecoder().push(header)), 'IPC_OVERSIZE');
  assert.equal(codeOf(() => new FrameDecoder().push(Buffer.from('ffffffff', 'hex'))), 'IPC_OVERSIZE');
  // Also when the header arrives in pieces after a good frame.
  const d = new FrameDecoder();
  assert.deepEqual(d.push(Buffer.concat([encodeFrame({ op: 'list', id: 1 }), header.subarray(0, 3)])), [{ op: 'list', id: 1 }]);
  assert.equal(codeOf(() => d.push(header.subarray(3))), 'IPC_OVERSIZE');
});

test('a body of exactly MAX_FRAME bytes passes both ways; one more does not encode', () => {
  const pad = (n: number) => ({ p: 'x'.repeat(n - '{"p":""}'.length) });
  const f = encodeFrame(pad(MAX_FRAME));
  assert.equal(f.length, FRAME_HEADER_BYTES + MAX_FRAME);
  assert.deepEqual(new FrameDecoder().push(f), [pad(MAX_FRAME)]);
  assert.equal(codeOf(() => encodeFrame(pad(MAX_FRAME + 1))), 'IPC_OVERSIZE');
});

test('IPC_BAD_JSON: not JSON, not UTF-8, empty, a byte-order mark', () => {
  const frame = (body: Buffer) => {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(body.length);
    return Buffer.concat([h, body]);
  };
  assert.equal(codeOf(() => new FrameDecoder().push(frame(Buffer.from('{"op":')))), 'IPC_BAD_JSON');
  assert.equal(codeOf(() => new FrameDecoder().push(frame(Buffer.from([0x7b, 0xff, 0x7d])))), 'IPC_BAD_JSON');
  assert.equal(codeOf(() => new FrameDecoder().push(frame(Buffer.alloc(0)))), 'IPC_BAD_JSON');
  assert.equal(codeOf(() => new FrameDecoder().push(frame(Buffer.from('\uFEFF{}')))), 'IPC_BAD_JSON');
});

test('after an error the decoder stays failed (the connection is to be dropped)', () => {
  const d = new FrameDecoder();
  assert.equal(codeOf(() => d.push(Buffer.from('ffffffff', 'hex'))), 'IPC_OVERSIZE');
  assert.equal(codeOf(() => d.push(encodeFrame({ op: 'list', id: 1 }))), 'IPC_OVERSIZE');
});

test('encodeFrame refuses what JSON cannot carry', () => {
  assert.equal(codeOf(() => encodeFrame(() => 1)), 'IPC_BAD_SHAPE');
});

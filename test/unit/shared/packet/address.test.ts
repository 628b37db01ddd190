/** Address text <-> bytes: RFC 5952 canonical IPv6 text, isIP-gated parsing, ADDRESS_INVALID. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAddress, parseAddress } from '../../../../shared/packet/tcp.js';
import { throwsCode } from './helpers.js';

const v6 = (hex: string) => Buffer.from(hex.replace(/[: ]/g, ''), 'hex');

test('RFC 5952: longest zero run compressed, first on a tie, lowercase, no leading zeros, single zero kept', () => {
  const cases: [string, string][] = [
    ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['0001:0000:0000:0000:0000:0000:0000:0000', '1::'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'], // §4.1 leading zeros, §4.2.1 shorten
    ['2001:0db8:0000:0001:0001:0001:0001:0001', '2001:db8:0:1:1:1:1:1'], // §4.2.2 one 16-bit 0 not "::"
    ['2001:0000:0000:0001:0000:0000:0000:0001', '2001:0:0:1::1'], // §4.2.3 longest run
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // §4.2.3 tie: first
    ['2001:0DB8:AAAA:BBBB:CCCC:DDDD:EEEE:FFFF', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'], // §4.3 lowercase
    ['0001:0000:0002:0000:0003:0000:0004:0000', '1:0:2:0:3:0:4:0'],
    ['0000:0000:0001:0000:0000:0000:0000:0000', '0:0:1::'],
    ['0000:0001:0002:0003:0004:0005:0006:0000', '0:1:2:3:4:5:6:0'],
    ['fe80:0000:0000:0000:0000:0000:0000:0000', 'fe80::'],
    ['0000:0000:0000:0000:0000:ffff:c000:0201', '::ffff:c000:201'], // mapped: hex, as server/config/address.ts
    ['1234:5678:9abc:def0:1234:5678:9abc:def0', '1234:5678:9abc:def0:1234:5678:9abc:def0'],
  ];
  for (const [hex, text] of cases) {
    assert.equal(formatAddress(6, v6(hex)), text, hex);
    assert.deepEqual(parseAddress(text).bytes, v6(hex), text);
  }
});

test('IPv4 dotted quad both ways', () => {
  assert.equal(formatAddress(4, Buffer.from([192, 0, 2, 255])), '192.0.2.255');
  assert.equal(formatAddress(4, new Uint8Array([0, 0, 0, 0])), '0.0.0.0');
  assert.deepEqual(parseAddress('203.0.113.7'), { family: 4, bytes: Buffer.from([203, 0, 113, 7]) });
});

test('parseAddress accepts every IPv6 spelling isIP does, canonicalising it', () => {
  const same: [string, string][] = [
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0:0:0:0:0:1', '2001:db8::1'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['::192.0.2.1', '::c000:201'],
    ['1:2:3:4:5:6:192.0.2.1', '1:2:3:4:5:6:c000:201'],
    ['1::2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::0001', '::1'],
  ];
  for (const [input, canon] of same) {
    const a = parseAddress(input);
    assert.equal(a.family, 6, input);
    assert.equal(formatAddress(6, a.bytes), canon, input);
  }
});

test('IPv4-mapped text is IPv6', () => {
  const a = parseAddress('::ffff:198.51.100.1');
  assert.equal(a.family, 6);
  assert.equal(a.bytes.length, 16);
});

test('invalid literals and byte lengths throw ADDRESS_INVALID', () => {
  for (const s of ['', ' 192.0.2.1', '192.0.2.1 ', '01.2.3.4', '1.2.3.256', '1.2.3', '[::1]', 'fe80::1%eth0', '2001:db8::/32',
    '1:2:3:4:5:6:7:8:9', '::00001', 'g::1', 'localhost', '192.0.2.1:80']) {
    throwsCode(() => parseAddress(s), 'ADDRESS_INVALID');
  }
  throwsCode(() => parseAddress(undefined as unknown as string), 'ADDRESS_INVALID');
  throwsCode(() => formatAddress(4, Buffer.alloc(16)), 'ADDRESS_INVALID');
  throwsCode(() => formatAddress(6, Buffer.alloc(4)), 'ADDRESS_INVALID');
  throwsCode(() => formatAddress(5 as 4, Buffer.alloc(4)), 'ADDRESS_INVALID');
});

test('formatAddress and parseAddress round-trip random addresses', () => {
  let s = 12345;
  const byte = () => { s = (s * 1103515245 + 12345) >>> 0; return (s >>> 16) & 0xff; };
  for (let i = 0; i < 2000; i++) {
    // Bias towards zero groups so runs of every length occur.
    const b = Buffer.alloc(16);
    for (let g = 0; g < 8; g++) if (byte() & 1) b.writeUInt16BE((byte() << 8) | byte(), 2 * g);
    const text = formatAddress(6, b);
    assert.deepEqual(parseAddress(text).bytes, b, text);
    assert.equal(text, text.toLowerCase());
    assert.ok(!/(^|:)0[0-9a-f]/.test(text), `leading zero in ${text}`);
    assert.equal(text, refFormat(b));
  }
});

/** Independent RFC 5952 formatter: regex over the uncompressed text, longest (first) zero run. */
function refFormat(b: Buffer): string {
  const full = Array.from({ length: 8 }, (_, g) => b.readUInt16BE(2 * g).toString(16)).join(':');
  let best: RegExpExecArray | null = null;
  for (const m of full.matchAll(/(?:^|:)0(?::0)+(?=:|$)/g)) {
    if (!best || m[0].replace(/^:/, '').length > best[0].replace(/^:/, '').length) best = m as RegExpExecArray;
  }
  if (!best) return full;
  const start = best.index! + (best[0].startsWith(':') ? 1 : 0);
  const end = best.index! + best[0].length;
  const head = full.slice(0, start).replace(/:$/, '');
  const tail = full.slice(end).replace(/^:/, '');
  return `${head}::${tail}`;
}

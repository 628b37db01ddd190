/**
 * Prints the protocol test vectors from fixed inputs: `--knock` (default) for
 * test/vectors/protocol.json (knock, grant reply, probe, address report; IPv4 and IPv6), `--bundle`
 * for test/vectors/bundle.json (a format-2 enrollment bundle and its keyed check).
 * Run only when the wire format changes on purpose:
 *   node --import tsx scripts/gen-protocol-vectors.ts > test/vectors/protocol.json
 *   node --import tsx scripts/gen-protocol-vectors.ts --bundle > test/vectors/bundle.json
 */
import { bundleCheck, bundleCheckInput, encodeBundle, type BundleFields } from '../shared/protocol/bundle.js';
import { keyCheck } from '../shared/protocol/check.js';
import { encodeKnock, encodeProbe, knockKeys, knockIsns } from '../shared/protocol/knock.js';
import { replyKey, sealAddressReport, sealReply } from '../shared/protocol/reply.js';
import { sequenceKey } from '../shared/protocol/sequence.js';

const key = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

function knockVectors(): unknown[] {
  const cases = [
    { name: 'ipv4', family: 4 as const, addr: 'c6336402', ports: [40001, 40777, 41999], tags: [0x11, 0x22, 0x33], serviceId: 1, time: 1_800_000_000 },
    { name: 'ipv6', family: 6 as const, addr: '20010db8000000000000000000000002', ports: [40010, 40011, 43000], tags: [0xfe, 0x00, 0x7f], serviceId: 63, time: 1_800_065_535 },
  ];
  return cases.map((c) => {
    const sequence = { ports: c.ports as [number, number, number], tags: c.tags as [number, number, number] };
    const observed = { family: c.family, bytes: Buffer.from(c.addr, 'hex') };
    const knock = encodeKnock({ keys: knockKeys(key), sequence, serviceId: c.serviceId, nowSec: c.time, boundAddress: observed });
    const next = { ports: [40100, 40200, 40300] as [number, number, number], tags: [1, 2, 3] as [number, number, number] };
    const nonce = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaab', 'hex');
    const reply = sealReply(replyKey(key), { grantedPort: 51234, expiresAt: c.time + 30, next, serverTimeMs: c.time * 1000 + 250, observed },
      { sequence, isns: knockIsns(knock) }, () => nonce);
    const probeTime = c.time - 1;
    const probe = encodeProbe({ keys: knockKeys(key), sequence, nowSec: probeTime });
    const probeNonce = Buffer.from('b0b1b2b3b4b5b6b7b8b9babb', 'hex');
    const report = sealAddressReport(replyKey(key), { windowSec: 30, serverTimeMs: probeTime * 1000 + 125, observed },
      { sequence, isns: knockIsns(probe) }, () => probeNonce);
    return {
      name: c.name, key: key.toString('hex'), family: c.family, address: c.addr, ports: c.ports, tags: c.tags, serviceId: c.serviceId, time: c.time,
      sequenceKey: sequenceKey(sequence).toString('hex'),
      isns: knock.map((p) => p.isn.toString(16).padStart(8, '0')),
      reply: { grantedPort: 51234, expiresAt: c.time + 30, next: sequenceKey(next).toString('hex'), serverTimeMs: c.time * 1000 + 250, nonce: nonce.toString('hex'), payload: reply.toString('hex') },
      probe: {
        time: probeTime,
        isns: probe.map((p) => p.isn.toString(16).padStart(8, '0')),
        report: { windowSec: 30, serverTimeMs: probeTime * 1000 + 125, nonce: probeNonce.toString('hex'), payload: report.toString('hex') },
      },
    };
  });
}

function bundleVector(): unknown {
  const fields: BundleFields = {
    gateways: [['192.0.2.10', '2001:db8::10'], ['198.51.100.11']],
    user: 'alice', device: 'laptop',
    kdf: { salt: Buffer.from('101112131415161718191a1b1c1d1e1f', 'hex'), N: 1 << 15, r: 8, p: 1 },
    sequence: { ports: [40001, 40777, 41999], tags: [0x11, 0x22, 0x33] },
    services: { ssh: 1, db: 2 },
    issuedAtMs: 1_800_000_000_123,
  };
  const check = bundleCheck(key, fields);
  return {
    key: key.toString('hex'),
    fields: { ...fields, kdf: { ...fields.kdf, salt: fields.kdf.salt.toString('hex') }, sequence: sequenceKey(fields.sequence).toString('hex') },
    checkInput: bundleCheckInput(fields).toString('hex'),
    check,
    keyCheck: keyCheck(key),
    text: encodeBundle({ ...fields, check }),
  };
}

console.log(JSON.stringify(process.argv.includes('--bundle') ? bundleVector() : knockVectors(), null, 2));

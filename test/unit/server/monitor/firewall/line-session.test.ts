/**
 * LineSession's marker protocol without root: a fake `nft -i` (a node child) answers like nft does
 * (errors on stderr, the marker echoed after "Error: syntax error", caret lines, output split
 * across writes). Pipelining, per-request error text, time limit, a dying child and respawn.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTumblerError } from '../../../../../shared/errors.js';
import { IPSET_MARKER, LineSession, NFT_MARKER } from '../../../../../server/monitor/firewall/line-session.js';

const FAKE_NFT = `
const rl = require('readline').createInterface({ input: process.stdin });
const err = (s) => process.stderr.write(s);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  let hung = false;
  for await (const line of rl) {
    if (hung) continue;
    if (line === 'die') process.exit(3);
    if (line === 'hang') hung = true;
    else if (line.startsWith('fail')) err('Error: Could not process rule: No such file or directory\\n' + line + '\\n    ^^^^\\n');
    else if (line.startsWith('warn')) err('Warning: something harmless\\n');
    else if (/^tumbler_sync_\\d+$/.test(line)) {
      // The report split across writes, as a pipe may deliver it.
      err('Error: syntax error, unexpected newline, expecting string\\n' + line.slice(0, 5));
      await sleep(5);
      err(line.slice(5) + '\\n');
      await sleep(2);
      err(' '.repeat(line.length));
      await sleep(2);
      err('^');
      await sleep(2);
      err('\\n');
    }
  }
})();
`;

function fake(maxRequests?: number): LineSession {
  return new LineSession([process.execPath, '-e', FAKE_NFT], NFT_MARKER, 1_000, maxRequests);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('each request gets exactly its own stderr; pipelined requests resolve in order', async () => {
  const s = fake();
  try {
    const answers = await Promise.all(['ok 1', 'fail 2', 'ok 3', 'warn 4', 'fail 5'].map((l) => s.run(l)));
    const report = (n: number): string => `Error: Could not process rule: No such file or directory\nfail ${n}\n    ^^^^\n`;
    assert.deepEqual(answers, ['', report(2), '', 'Warning: something harmless\n', report(5)]);
  } finally {
    await s.dispose();
  }
});

test('a child that served maxRequests is ended when idle and replaced (nft -i keeps a growing history)', async () => {
  const s = fake(3);
  try {
    assert.equal(await s.run('ok 1'), '');
    assert.equal(await s.run('ok 2'), '');
    const last = s.run('ok 3');
    const first = s.pid!;
    assert.equal(await last, '');
    assert.equal(s.pid, undefined); // retired as soon as it went idle
    for (let i = 0; i < 50 && alive(first); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!alive(first), 'the retired child exits on EOF');
    assert.equal(await s.run('ok 4'), '');
    assert.notEqual(s.pid, first);
  } finally {
    await s.dispose();
  }
});

test('a line break inside a command is refused', async () => {
  const s = fake();
  await assert.rejects(s.run('ok\nflush ruleset'), (e: unknown) => isTumblerError(e, 'FIREWALL_BAD_VALUE'));
  await s.dispose();
});

test('a child that stops answering times out; the next request starts a fresh child', async () => {
  const s = fake();
  try {
    await s.run('ok');
    const first = s.pid;
    await assert.rejects(s.run('hang'), (e: unknown) => isTumblerError(e, 'FIREWALL_TIMEOUT'));
    assert.equal(await s.run('ok'), '');
    assert.notEqual(s.pid, first);
  } finally {
    await s.dispose();
  }
});

test('a child that exits fails its pending requests; the next request starts a fresh child', async () => {
  const s = fake();
  try {
    await assert.rejects(s.run('die'), (e: unknown) => isTumblerError(e, 'FIREWALL_EXITED'));
    assert.equal(await s.run('ok'), '');
  } finally {
    await s.dispose();
  }
});

test('a tool that cannot start fails with FIREWALL_START; after dispose requests are refused', async () => {
  const s = new LineSession(['/nonexistent/nft', '-i'], NFT_MARKER, 1_000);
  await assert.rejects(s.run('ok'), (e: unknown) => isTumblerError(e, 'FIREWALL_START'));
  await s.dispose();
  await assert.rejects(s.run('ok'), (e: unknown) => isTumblerError(e, 'FIREWALL_DISPOSED'));
});

test('ipset marker reports are found whatever the quoting, and only for the right token', () => {
  const buf = "Warning: 1.2.3.4,tcp:5 is in set s.\nipset v7.17: Unknown argument tumbler_sync_12\nTry `ipset help' for more information.\n";
  assert.equal(IPSET_MARKER.find(buf, 'tumbler_sync_1'), null);
  const r = IPSET_MARKER.find(buf, 'tumbler_sync_12');
  assert.ok(r);
  assert.equal(buf.slice(0, r.start), 'Warning: 1.2.3.4,tcp:5 is in set s.\n');
  assert.ok(IPSET_MARKER.find("ipset v6.38: Unknown argument: `tumbler_sync_3'\n", 'tumbler_sync_3'));
  assert.equal(IPSET_MARKER.find('ipset v7.17: Unknown argument tumbler_sync_3', 'tumbler_sync_3'), null); // line not complete yet
});

/**
 * The worker's privilege proof and hardening (issue 12 §7): the proof refuses a process without
 * no_new_privs (or with a uid 0, or capabilities); hardenBeforeDrop locks every capture socket's
 * filter and sets no_new_privs, and refuses when fewer capture sockets were locked than opened.
 * The hardening runs in child processes (no_new_privs cannot be taken back); the capture one in a
 * network namespace made here, as root.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isTumblerError } from '../../../../shared/errors.js';
import { assertUnprivileged, capabilitySets } from '../../../../server/worker/privileges.js';
import { inNs, isRoot, NetnsLab } from '../../../helpers/netns.js';

const status = (o: { uid?: string; eff?: string; prm?: string; nnp?: string } = {}): string => [
  'Name:\tnode', `Uid:\t${o.uid ?? '998\t998\t998\t998'}`, 'Gid:\t998\t998\t998\t998',
  'CapInh:\t0000000000000000', `CapPrm:\t${o.prm ?? '0000000000000000'}`, `CapEff:\t${o.eff ?? '0000000000000000'}`,
  ...(o.nnp === undefined ? [] : [`NoNewPrivs:\t${o.nnp}`]), '',
].join('\n');
const refused = (s: string): boolean => {
  try {
    assertUnprivileged(s);
    return false;
  } catch (e) {
    return isTumblerError(e, 'PRIVSEP_STILL_PRIVILEGED');
  }
};

test('the proof: non-zero uids, no capabilities, and NoNewPrivs 1 — nothing less', () => {
  assert.deepEqual(capabilitySets(status({ nnp: '1' })), { eff: 0n, prm: 0n, uid: [998, 998, 998, 998], noNewPrivs: true });
  assert.equal(refused(status({ nnp: '1' })), false);
  assert.equal(refused(status({ nnp: '0' })), true);
  assert.equal(refused(status()), true); // a kernel that does not say
  assert.equal(refused(status({ nnp: '1', uid: '998\t0\t998\t998' })), true);
  assert.equal(refused(status({ nnp: '1', eff: '0000000000002000' })), true);
  assert.equal(refused(status({ nnp: '1', prm: '0000000000003000' })), true);
});

const PRIVILEGES = fileURLToPath(new URL('../../../../server/worker/privileges.ts', import.meta.url));
const CAPTURE = fileURLToPath(new URL('../../../../server/worker/capture.ts', import.meta.url));

/** Run `body` in a child Node (tsx), optionally in a namespace; its JSON output. */
function child(body: string, prefix: readonly string[] = []): { code: number | null; out: unknown; stderr: string } {
  const script = `import { hardenBeforeDrop } from ${JSON.stringify(PRIVILEGES)};
    import { openCapture } from ${JSON.stringify(CAPTURE)};
    import { readFileSync } from 'node:fs';
    const nnp = () => /^NoNewPrivs:\\s*(\\d)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1];
    ${body}`;
  const [cmd, ...args] = [...prefix, process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 30_000 });
  let out: unknown = null;
  try {
    out = JSON.parse(r.stdout.trim());
  } catch { /* none */ }
  return { code: r.status, out, stderr: r.stderr };
}

test('hardenBeforeDrop refuses when a capture it was told of has no socket to lock', () => {
  const r = child(`try { hardenBeforeDrop(1); console.log(JSON.stringify({ ok: true })); } catch (e) { console.log(JSON.stringify({ code: e.code })); }`);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.out, { code: 'PRIVSEP_HARDEN' });
});

const lab = isRoot ? new NetnsLab('mopriv') : null;
after(() => lab?.cleanup());

test('hardenBeforeDrop with a live capture: its filter locked, no_new_privs set', { skip: !isRoot && 'needs root (capture in a namespace)' }, () => {
  const ns = lab!.addNamespace('w');
  const r = child(`const c = openCapture('lo', 'tcp[13] == 2', () => {});
    const before = nnp();
    hardenBeforeDrop(1);
    console.log(JSON.stringify({ before, after: nnp() }));
    process.exit(0);`, inNs(ns));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.out, { before: '0', after: '1' });
});

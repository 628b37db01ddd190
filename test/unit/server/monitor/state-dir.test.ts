/** The worker's state directory: made for the worker account, never through a link. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTumblerError } from '../../../../shared/errors.js';
import { prepareWorkerStateDir } from '../../../../server/monitor/state-dir.js';

const isRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'tmb-sdir-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('created (or taken over) 0755 and owned by the worker account; a link in its place is refused', { skip: !isRoot && 'needs root (chown)' }, () => {
  const worker = { uid: 4321, gid: 4322 };
  const fresh = join(dir, 'tumblerd.worker');
  prepareWorkerStateDir(fresh, worker);
  const st = statSync(fresh);
  assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [4321, 4322, 0o755]);
  const old = join(dir, 'old.worker');
  mkdirSync(old, { mode: 0o700 });
  prepareWorkerStateDir(old, worker);
  assert.deepEqual([statSync(old).uid, statSync(old).mode & 0o777], [4321, 0o755]);
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere, { mode: 0o700 });
  const link = join(dir, 'link.worker');
  symlinkSync(elsewhere, link);
  assert.throws(() => prepareWorkerStateDir(link, worker), (e) => isTumblerError(e, 'STATE_UNSAFE'));
  assert.equal(lstatSync(elsewhere).uid, 0, 'the link target was not chowned');
});

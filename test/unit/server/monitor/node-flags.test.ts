/**
 * The V8 flags of tumblerd's processes are named once (server/monitor/node-flags.ts): the systemd
 * unit starts the monitor with exactly the monitor's flags, the worker keeps its JIT (--jitless
 * would slow the packet path), and both processes run with their flags in the e2e suite (checked
 * there on /proc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MONITOR_NODE_FLAGS, WORKER_NODE_FLAGS } from '../../../../server/monitor/node-flags.js';

const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));

test('the systemd unit starts the monitor with the monitor flags, before the script', () => {
  const unit = readFileSync(`${REPO}/systemd/tumblerd.service`, 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(/\s+/);
  const script = exec.findIndex((a) => a.endsWith('dist/server/main.js'));
  assert.deepEqual(exec.slice(1, script), [...MONITOR_NODE_FLAGS]);
});

test('the worker keeps the JIT (the packet path is hot)', () => {
  assert.ok(!WORKER_NODE_FLAGS.includes('--jitless'));
  assert.ok(MONITOR_NODE_FLAGS.includes('--jitless'));
});

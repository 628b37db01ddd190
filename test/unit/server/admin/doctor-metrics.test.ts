/** doctor's check of the metrics exporter's account. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricsUserCheck } from '../../../../server/admin/doctor.js';

test('the exporter account: exists and unprivileged (ok), the worker\'s own (warn), missing or root (fail)', () => {
  assert.equal(metricsUserCheck('nobody', 'tumbler').status, 'ok');
  assert.equal(metricsUserCheck('tumbler', 'tumbler').status, 'warn');
  assert.equal(metricsUserCheck('tmb-no-such-user', 'tumbler').status, 'fail');
  assert.equal(metricsUserCheck('root', 'tumbler').status, 'fail');
});

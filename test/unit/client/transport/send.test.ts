/**
 * Transport choice: raw sockets when privileged (uid 0 or CAP_NET_RAW in CapEff), else the helper;
 * where the helper is looked for; a missing helper is HELPER_MISSING with the install hint.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { helperPath, hasRawPrivilege, repoHelperPath, sendKnock } from '../../../../client/transport/send.js';
import { isTumblerError } from '../../../../shared/errors.js';

const status = (capEff: string): string => `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;

describe('transport choice', () => {
  test('CAP_NET_RAW (bit 13) in the effective set allows raw sockets; other bits do not', () => {
    assert.equal(hasRawPrivilege(status('0000000000002000')), true);
    assert.equal(hasRawPrivilege(status('000001ffffffffff')), true);
    assert.equal(hasRawPrivilege(status('0000000000001000')), false);
    assert.equal(hasRawPrivilege(status('0000000000000000')), false);
    assert.equal(hasRawPrivilege('no caps line'), false);
  });

  test('helper path: $TUMBLER_HELPER first, else the installed or the checkout one', () => {
    assert.equal(helperPath({ TUMBLER_HELPER: '/opt/x/helper' }), '/opt/x/helper');
    const p = helperPath({});
    assert.ok(p === '/usr/local/lib/tumbler/tumbler-helper' || p === repoHelperPath());
    assert.match(repoHelperPath(), /client\/helper\/tumbler-helper$/);
  });

  test('a missing helper is HELPER_MISSING and says how to install it', async () => {
    const saved = { t: process.env.TUMBLER_TRANSPORT, h: process.env.TUMBLER_HELPER };
    process.env.TUMBLER_TRANSPORT = 'helper';
    process.env.TUMBLER_HELPER = '/nonexistent/tumbler-helper';
    try {
      const pkt = Buffer.alloc(40);
      await assert.rejects(sendKnock(4, [pkt, pkt, pkt], 200),
        (e) => isTumblerError(e, 'HELPER_MISSING') && /sudo tumbler install-helper/.test((e as Error).message));
    } finally {
      if (saved.t === undefined) delete process.env.TUMBLER_TRANSPORT; else process.env.TUMBLER_TRANSPORT = saved.t;
      if (saved.h === undefined) delete process.env.TUMBLER_HELPER; else process.env.TUMBLER_HELPER = saved.h;
    }
  });
});

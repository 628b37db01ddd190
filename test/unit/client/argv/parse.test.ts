/**
 * The CLI's table-driven argv parser and help (client/argv/): options anywhere after the command,
 * --opt=value, short flags, --no-x, choices and validators, --, help and version, and USAGE errors
 * (with a suggestion for near misses) for everything else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandHelp, programHelp } from '../../../../client/argv/help.js';
import { parseArgv } from '../../../../client/argv/parse.js';
import type { ProgramSpec } from '../../../../client/argv/spec.js';
import { TumblerError } from '../../../../shared/errors.js';

const run = async (): Promise<void> => {};
const P: ProgramSpec = {
  name: 'tumbler', version: '9', summary: 'test program', footer: '\nEXIT TABLE\n',
  commands: [
    {
      name: 'open', summary: 'open it', args: [{ name: 'profile', help: 'p' }], run,
      options: [
        { key: 'service', long: '--service', value: '<name>', help: 's' },
        { key: 'timeout', long: '--timeout', value: '<ms>', help: 't', parse: (v) => { if (!/^\d+$/.test(v)) throw new TumblerError('USAGE', 'bad'); return Number(v); } },
        { key: 'verbose', long: '--verbose', short: '-v', help: 'v' },
        { key: 'agent', long: '--no-agent', help: 'n' },
        { key: 'mode', long: '--mode', value: '<m>', choices: ['a', 'b'], default: 'a', help: 'm' },
      ],
    },
    { name: 'lock', summary: 'lock', args: [{ name: 'profile', help: 'p', optional: true }], options: [], run },
  ],
};

const usage = (argv: string[]): string => {
  try {
    parseArgv(P, argv);
  } catch (e) {
    assert.equal((e as TumblerError).code, 'USAGE');
    return (e as Error).message;
  }
  assert.fail(`accepted ${argv.join(' ')}`);
};

test('options before and after arguments, = form, short flags, negations, defaults', () => {
  const p = parseArgv(P, ['open', '--service=db', 'work', '-v', '--timeout', '500', '--no-agent']);
  assert.equal(p.kind, 'run');
  if (p.kind !== 'run') return;
  assert.equal(p.command.name, 'open');
  assert.deepEqual(p.args, ['work']);
  assert.deepEqual(p.options, { mode: 'a', service: 'db', verbose: true, timeout: 500, agent: false });
  const q = parseArgv(P, ['open', '--', '-dash-profile']);
  assert.deepEqual(q.kind === 'run' && q.args, ['-dash-profile']);
  const r = parseArgv(P, ['lock']);
  assert.deepEqual(r.kind === 'run' && r.args, []);
});

test('help and version', () => {
  assert.deepEqual(parseArgv(P, []), { kind: 'help' });
  assert.deepEqual(parseArgv(P, ['--help']), { kind: 'help' });
  assert.deepEqual(parseArgv(P, ['-V']), { kind: 'version' });
  const h = parseArgv(P, ['open', 'x', '--bogus', '--help']);
  assert.equal(h.kind === 'help' && h.command?.name, 'open');
  assert.equal((parseArgv(P, ['help', 'lock']) as { command?: { name: string } }).command?.name, 'lock');
});

test('usage errors: unknown command or option (with a suggestion), missing or extra arguments, bad values', () => {
  assert.match(usage(['opne', 'x']), /unknown command 'opne' \(did you mean open\?\)/);
  assert.match(usage(['open', 'x', '--servce', 'db']), /unknown option '--servce'.*did you mean --service\?/);
  assert.match(usage(['frobnicate']), /unknown command 'frobnicate'$/);
  assert.match(usage(['open']), /missing argument 'profile'/);
  assert.match(usage(['lock', 'a', 'b']), /too many arguments/);
  assert.match(usage(['open', 'x', '--service']), /needs a value/);
  assert.match(usage(['open', 'x', '--timeout', 'soon']), /bad/);
  assert.match(usage(['open', 'x', '--mode', 'c']), /must be one of a, b/);
  assert.match(usage(['open', 'x', '--verbose=yes']), /takes no value/);
  assert.match(usage(['--frob']), /unknown option/);
});

test('help texts list every command and option and end with the footer', () => {
  const all = programHelp(P);
  assert.match(all, /open \[options\] <profile>\s+open it/);
  assert.match(all, /lock \[profile\]/);
  assert.ok(all.endsWith('EXIT TABLE\n\n'));
  const one = commandHelp(P, P.commands[0]!);
  for (const s of ['--service <name>', '-v, --verbose', '--no-agent', '--mode <m>', 'choices: a, b; default: a', 'EXIT TABLE']) assert.ok(one.includes(s), s);
});

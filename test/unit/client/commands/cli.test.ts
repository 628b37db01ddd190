/**
 * The `tumbler` CLI as a user runs it (node --import tsx client/cli.ts ...), with HOME and
 * XDG_CONFIG_HOME in a temp dir: enrollment, exit codes, --help texts, and that status output never
 * carries the key, the salt or the sequence. Nothing here sends a packet.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleCheck, encodeBundle, type BundleFields } from '../../../../shared/protocol/bundle.js';
import { deriveDeviceKey } from '../../../../shared/protocol/kdf.js';

const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const CLI = join(REPO, 'client/cli.ts');
const PASSWORD = 'correct horse battery staple';
const SALT = Buffer.alloc(16, 0x5a);
const SEQ = { ports: [40011, 40222, 40333] as [number, number, number], tags: [0xa1, 0xb2, 0xc3] as [number, number, number] };

interface Run { code: number | null; stdout: string; stderr: string }

let home: string;
let env: NodeJS.ProcessEnv;

function cli(args: string[], input = ''): Promise<Run> {
  return new Promise((res) => {
    const c = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
    c.stdin.end(input);
  });
}

let key: Buffer;
const ISSUED = Date.now();
/** A format-2 bundle whose keyed check matches PASSWORD (or `check` when given). */
const bundle = (o: { services?: Record<string, number>; check?: string } = {}): string => {
  const fields: BundleFields = {
    gateways: [['192.0.2.1', '2001:db8::1']], user: 'alice', device: 'laptop', kdf: { salt: SALT, N: 1 << 14, r: 8, p: 1 }, sequence: SEQ,
    services: o.services ?? { ssh: 1, db: 2 }, issuedAtMs: ISSUED,
  };
  return encodeBundle({ ...fields, check: o.check ?? bundleCheck(key, fields) });
};

const profileFile = (name: string): string => join(home, '.config', 'tumbler', 'profiles', `${name}.json`);

before(async () => {
  key = await deriveDeviceKey(PASSWORD, { salt: SALT, N: 1 << 14, r: 8, p: 1 });
  home = mkdtempSync(join(tmpdir(), 'tumbler-cli-'));
  // XDG_RUNTIME_DIR of its own: no agent another test or session runs is ever seen here.
  env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_RUNTIME_DIR: join(home, 'run'), TUMBLER_HELPER: join(home, 'no-helper') };
  writeFileSync(join(home, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
  writeFileSync(join(home, 'bundle.txt'), `${bundle()}\n`);
});
after(() => rmSync(home, { recursive: true, force: true }));

describe('tumbler CLI', () => {
  test('enroll from a bundle file with --password-file creates a 0600 profile with the derived key', async () => {
    const r = await cli(['enroll', join(home, 'bundle.txt'), '--name', 'work', '--password-file', join(home, 'password')]);
    assert.equal(r.code, 0, r.stderr);
    const st = statSync(profileFile('work'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(statSync(join(home, '.config', 'tumbler', 'profiles')).mode & 0o777, 0o700);
    const p = JSON.parse(readFileSync(profileFile('work'), 'utf8')) as Record<string, unknown>;
    assert.equal(p.key, key.toString('base64'));
    assert.deepEqual(p.sequence, { ports: SEQ.ports, tags: SEQ.tags });
    assert.deepEqual(p.gateways, [['192.0.2.1', '2001:db8::1']]);
    assert.equal(p.v, 2);
    assert.ok(!r.stdout.includes(key.toString('base64')) && !r.stdout.includes(PASSWORD));
  });

  test('enroll with the bundle text as argument, password on stdin, --no-store-key, default name', async () => {
    const r = await cli(['enroll', bundle({ services: { ssh: 1 } }), '--no-store-key'], `${PASSWORD}\n`);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(readFileSync(profileFile('alice-192.0.2.1'), 'utf8')) as Record<string, unknown>;
    assert.equal('key' in p, false);
  });

  test('enroll over an existing profile: exit 3 without --force, 0 with it', async () => {
    const again = await cli(['enroll', join(home, 'bundle.txt'), '--name', 'work', '--password-file', join(home, 'password')]);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /^tumbler: .*\(PROFILE_EXISTS\)\n$/);
    const forced = await cli(['enroll', join(home, 'bundle.txt'), '--name', 'work', '--password-file', join(home, 'password'), '--force']);
    assert.equal(forced.code, 0, forced.stderr);
  });

  test('a mistyped password (or a bundle the admin did not make) exits 8 at enroll, and writes nothing', async () => {
    writeFileSync(join(home, 'typo'), `${PASSWORD.replace('horse', 'hose')}\n`, { mode: 0o600 });
    const r = await cli(['enroll', join(home, 'bundle.txt'), '--name', 'typo', '--password-file', join(home, 'typo')]);
    assert.equal(r.code, 8, r.stderr);
    assert.match(r.stderr, /^tumbler: .*\(PASSWORD_WRONG\)\n$/);
    const right = JSON.parse(Buffer.from(bundle().split('.')[1]!, 'base64url').toString()) as { check: string };
    const swapped = await cli(['enroll', bundle({ check: right.check === 'fff' ? 'ffe' : 'fff' }), '--name', 'swapped', '--password-file', join(home, 'password')]);
    assert.equal(swapped.code, 8);
    assert.throws(() => statSync(profileFile('typo')));
  });

  test('a password file others can read exits 2; a format-1 bundle exits 3 with its own code', async () => {
    writeFileSync(join(home, 'open-pw'), `${PASSWORD}\n`, { mode: 0o600 });
    chmodSync(join(home, 'open-pw'), 0o644);
    const r = await cli(['enroll', join(home, 'bundle.txt'), '--name', 'x', '--password-file', join(home, 'open-pw')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\(PASSWORD_FILE_MODE\)/);
    const old = await cli(['enroll', `tumbler1.${Buffer.from('{}').toString('base64url')}.00000000`, '--password-file', join(home, 'password')]);
    assert.equal(old.code, 3);
    assert.match(old.stderr, /\(BUNDLE_VERSION\)/);
  });

  test('bad bundles exit 3: altered checksum, missing file', async () => {
    const b = bundle();
    const bad = `${b.slice(0, -1)}${b.endsWith('0') ? '1' : '0'}`;
    const r1 = await cli(['enroll', bad, '--name', 'x', '--password-file', join(home, 'password')]);
    assert.equal(r1.code, 3);
    assert.match(r1.stderr, /\(BUNDLE_CHECKSUM\)/);
    const r2 = await cli(['enroll', join(home, 'missing.bundle'), '--password-file', join(home, 'password')]);
    assert.equal(r2.code, 3);
  });

  test('a weak password exits 2', async () => {
    writeFileSync(join(home, 'weak'), 'short\n', { mode: 0o600 });
    const r = await cli(['enroll', join(home, 'bundle.txt'), '--name', 'weak', '--password-file', join(home, 'weak')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\(KDF_WEAK_PASSWORD\)/);
  });

  test('open: missing profile exits 3; unknown service exits 2; bad timeout exits 2', async () => {
    const r = await cli(['open', 'nosuch']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^tumbler: .*\(PROFILE_NOT_FOUND\)\n$/);
    assert.equal((await cli(['open', 'work', '--service', 'web'])).code, 2);
    assert.equal((await cli(['open', 'work', '--timeout', '5'])).code, 2);
  });

  test('a profile readable by others exits 3', async () => {
    chmodSync(profileFile('work'), 0o644);
    try {
      const r = await cli(['status', 'work']);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /\(PROFILE_PERMISSIONS\)/);
    } finally {
      chmodSync(profileFile('work'), 0o600);
    }
  });

  test('status --json shows the profile without key, salt or sequence; profiles --json lists it', async () => {
    const r = await cli(['status', 'work', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(v.profile, 'work');
    assert.equal(v.keyStored, true);
    assert.equal('key' in v, false);
    assert.equal('sequence' in v, false);
    assert.equal('kdf' in v, false);
    const p = JSON.parse(readFileSync(profileFile('work'), 'utf8')) as { key: string; kdf: { salt: string } };
    for (const secret of [p.key, p.kdf.salt, ...SEQ.ports.map(String)]) assert.ok(!r.stdout.includes(secret), 'secret in status output');
    const text = await cli(['status', 'work']);
    assert.equal(text.code, 0);
    assert.ok(!text.stdout.includes(p.key) && !SEQ.ports.some((x) => text.stdout.includes(String(x))));
    const l = await cli(['profiles', '--json']);
    assert.equal(l.code, 0);
    assert.deepEqual((JSON.parse(l.stdout) as Array<{ profile: string }>).map((e) => e.profile), ['alice-192.0.2.1', 'work']);
  });

  test('--help of the program and of every command exits 0 and lists the exit codes', async () => {
    for (const args of [['--help'], ...['enroll', 'open', 'proxy', 'profiles', 'status', 'install-helper'].map((c) => [c, '--help'])]) {
      const r = await cli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /Exit codes:/);
      for (let c = 0; c <= 10; c++) assert.match(r.stdout, new RegExp(`^ +${c}  \\S`, 'm'));
    }
  });

  test('usage errors exit 2: no command, unknown command, missing argument, unknown option', async () => {
    assert.equal((await cli([])).code, 2);
    const u = await cli(['frobnicate']);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /^tumbler: .*\(USAGE\)/);
    assert.equal((await cli(['open'])).code, 2);
    assert.equal((await cli(['status', 'work', '--bogus'])).code, 2);
    assert.equal((await cli(['install-helper', '--mode', 'suid'])).code, 2);
  });
});

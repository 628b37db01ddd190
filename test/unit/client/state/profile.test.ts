/**
 * Profiles: paths (XDG_CONFIG_HOME, injected base), round trip with modes 0600/0700, listing,
 * format 1 read and upgraded, and the error codes of loadProfile: PROFILE_NOT_FOUND,
 * PROFILE_CORRUPT, PROFILE_VERSION, PROFILE_PERMISSIONS (modes, symlinks, another owner);
 * saveProfile refuses invalid profiles.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir, ensurePrivateDir, profilesDir } from '../../../../client/state/paths.js';
import { listProfiles, loadProfile, saveProfile } from '../../../../client/state/profile.js';
import { isTumblerError } from '../../../../shared/errors.js';
import { sampleProfile, sampleProfileV1 } from './fixtures/sample.js';

const base = mkdtempSync(join(tmpdir(), 'tmb-profile-'));
after(() => rmSync(base, { recursive: true, force: true }));
const code = (c: string) => (e: unknown): boolean => isTumblerError(e, c);

function writeRaw(dir: string, name: string, text: string, mode = 0o600): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, `${name}.json`), text, { mode });
  chmodSync(join(dir, `${name}.json`), mode);
}

describe('profile paths', () => {
  it('uses XDG_CONFIG_HOME, else ~/.config, else an injected base dir', () => {
    assert.equal(configDir({ env: { XDG_CONFIG_HOME: '/x/cfg' }, home: '/h' }), '/x/cfg/tumbler');
    assert.equal(configDir({ env: {}, home: '/h' }), '/h/.config/tumbler');
    assert.equal(configDir({ env: { XDG_CONFIG_HOME: 'relative' }, home: '/h' }), '/h/.config/tumbler');
    assert.equal(profilesDir({ baseDir: '/b' }), '/b/profiles');
  });
});

describe('profiles', () => {
  it('round-trips; directory 0700 and file 0600; updatedAt from the injected clock', async () => {
    const dir = profilesDir({ baseDir: join(base, 'rt', 'tumbler') });
    const saved = await saveProfile(dir, sampleProfile('home'), { now: () => 1_800_000_000_123 });
    assert.equal(saved.updatedAt, 1_800_000_000_123);
    assert.deepEqual(await loadProfile(dir, 'home'), saved);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'home.json')).mode & 0o777, 0o600);
  });

  it('tightens an existing wider directory to 0700', async () => {
    const dir = join(base, 'wide');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    await saveProfile(dir, sampleProfile());
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });

  it('accepts a profile without key (keyOffDisk) and without optional fields', async () => {
    const dir = join(base, 'opt');
    const { key: _k, keyCheck: _c, device: _d, observed: _o, lastAnswered: _a, lastGrant: _g, lastSec: _s, lastProbeSec: _p, ...rest } = sampleProfile('nokey');
    await saveProfile(dir, rest);
    const p = await loadProfile(dir, 'nokey');
    assert.equal('key' in p, false);
    assert.equal('lastGrant' in p, false);
  });

  it('lists profile names, ignoring temp, lock and other files', async () => {
    const dir = join(base, 'list');
    assert.deepEqual(await listProfiles(dir), []);
    await saveProfile(dir, sampleProfile('b'));
    await saveProfile(dir, sampleProfile('a'));
    writeFileSync(join(dir, '.a.json.123.0123456789ab.tmp'), '');
    writeFileSync(join(dir, 'a.lock'), '');
    writeFileSync(join(dir, 'notes.txt'), '');
    assert.deepEqual(await listProfiles(dir), ['a', 'b']);
  });

  it('PROFILE_NOT_FOUND for a missing profile; PROFILE_NAME_INVALID for a path-like name', async () => {
    await assert.rejects(loadProfile(join(base, 'none'), 'home'), code('PROFILE_NOT_FOUND'));
    await assert.rejects(loadProfile(base, '../etc/passwd'), code('PROFILE_NAME_INVALID'));
  });

  it('PROFILE_PERMISSIONS for group/world-accessible files and symlinks', async () => {
    const dir = join(base, 'perm');
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      writeRaw(dir, 'p', JSON.stringify(sampleProfile('p')), mode);
      await assert.rejects(loadProfile(dir, 'p'), code('PROFILE_PERMISSIONS'), mode.toString(8));
    }
    writeRaw(dir, 'real', JSON.stringify(sampleProfile('link')));
    symlinkSync(join(dir, 'real.json'), join(dir, 'link.json'));
    await assert.rejects(loadProfile(dir, 'link'), code('PROFILE_PERMISSIONS'));
  });

  it('a format-1 profile loads as format 2: its server is the one gateway, its observed address kept (local unknown)', async () => {
    const dir = join(base, 'v1');
    writeRaw(dir, 'old', JSON.stringify(sampleProfileV1('old')));
    const p = await loadProfile(dir, 'old');
    assert.deepEqual(p, {
      v: 2, name: 'old', user: 'alice', gateways: [['192.0.2.10']], key: sampleProfileV1().key, kdf: sampleProfileV1().kdf,
      sequence: sampleProfileV1().sequence, services: { ssh: 1, db: 2 }, clockOffsetMs: -1200,
      observed: { 4: { address: '198.51.100.7' } }, lastGrant: { port: 40123, service: 'ssh', expiresAt: 1_700_000_000, server: '192.0.2.10' },
      updatedAt: 1_700_000_000_000,
    });
    await saveProfile(dir, p);
    assert.equal((JSON.parse(readFileSync(join(dir, 'old.json'), 'utf8')) as { v: number }).v, 2);
    for (const bad of [{ deviceId: -1 }, { server: { address: '2001:db8::1', family: 4 } }, { extra: 1 }]) {
      writeRaw(dir, 'bad', JSON.stringify({ ...sampleProfileV1('bad'), ...bad }));
      await assert.rejects(loadProfile(dir, 'bad'), code('PROFILE_CORRUPT'), JSON.stringify(bad));
    }
  });

  it('PROFILE_VERSION for another schema version', async () => {
    const dir = join(base, 'ver');
    writeRaw(dir, 'p', JSON.stringify({ ...sampleProfile('p'), v: 3 }));
    await assert.rejects(loadProfile(dir, 'p'), code('PROFILE_VERSION'));
    writeRaw(dir, 'q', JSON.stringify({ v: 0, anything: true }));
    await assert.rejects(loadProfile(dir, 'q'), code('PROFILE_VERSION'));
  });

  it('PROFILE_CORRUPT for bad JSON and bad shapes', async () => {
    const dir = join(base, 'corrupt');
    const good = sampleProfile('p') as unknown as Record<string, unknown>;
    const cases: Record<string, string> = {
      'not JSON': '{"v":2,',
      'empty file': '',
      'array': '[]',
      'no version': JSON.stringify({ ...good, v: undefined }),
      'version as string': JSON.stringify({ ...good, v: '2' }),
      'unknown field': JSON.stringify({ ...good, extra: 1 }),
      'missing user': JSON.stringify({ ...good, user: undefined }),
      'name differs from file': JSON.stringify({ ...good, name: 'other' }),
      'gateway not IP': JSON.stringify({ ...good, gateways: [['example.com']] }),
      'gateway not canonical': JSON.stringify({ ...good, gateways: [['2001:DB8::1']] }),
      'no gateway': JSON.stringify({ ...good, gateways: [] }),
      'empty gateway': JSON.stringify({ ...good, gateways: [[]] }),
      'gateway twice': JSON.stringify({ ...good, gateways: [['192.0.2.1'], ['192.0.2.1']] }),
      'lastAnswered not a gateway': JSON.stringify({ ...good, lastAnswered: '192.0.2.99' }),
      'observed family mismatch': JSON.stringify({ ...good, observed: { 4: { address: '2001:db8::7' } } }),
      'observed unknown family': JSON.stringify({ ...good, observed: { 5: { address: '192.0.2.7' } } }),
      'observed local bad': JSON.stringify({ ...good, observed: { 4: { address: '192.0.2.7', local: 'here' } } }),
      'device name bad': JSON.stringify({ ...good, device: 'Laptop' }),
      'key check bad': JSON.stringify({ ...good, keyCheck: 'xyz' }),
      'lastSec negative': JSON.stringify({ ...good, lastSec: -1 }),
      'deviceId (format 1 field)': JSON.stringify({ ...good, deviceId: 1 }),
      'key wrong length': JSON.stringify({ ...good, key: Buffer.alloc(8).toString('base64') }),
      'key not base64': JSON.stringify({ ...good, key: '!!!!' }),
      'salt wrong length': JSON.stringify({ ...good, kdf: { ...sampleProfile().kdf, salt: 'AAAA' } }),
      'kdf N too small': JSON.stringify({ ...good, kdf: { ...sampleProfile().kdf, N: 1024 } }),
      'kdf extra field': JSON.stringify({ ...good, kdf: { ...sampleProfile().kdf, x: 1 } }),
      'two ports': JSON.stringify({ ...good, sequence: { ports: [1, 2], tags: [1, 2, 3] } }),
      'ports not ascending': JSON.stringify({ ...good, sequence: { ports: [3, 2, 1], tags: [1, 2, 3] } }),
      'tag over 255': JSON.stringify({ ...good, sequence: { ports: [1, 2, 3], tags: [1, 2, 256] } }),
      'service id 0': JSON.stringify({ ...good, services: { ssh: 0 } }),
      'services array': JSON.stringify({ ...good, services: [1] }),
      'clock offset fractional': JSON.stringify({ ...good, clockOffsetMs: 1.5 }),
      'grant port 0': JSON.stringify({ ...good, lastGrant: { port: 0, service: 'ssh', expiresAt: 1, server: '192.0.2.10' } }),
      'grant extra field': JSON.stringify({ ...good, lastGrant: { port: 1, service: 'ssh', expiresAt: 1, server: '192.0.2.10', x: 1 } }),
      'grant without server': JSON.stringify({ ...good, lastGrant: { port: 1, service: 'ssh', expiresAt: 1 } }),
      'updatedAt missing': JSON.stringify({ ...good, updatedAt: undefined }),
    };
    for (const [name, text] of Object.entries(cases)) {
      writeRaw(dir, 'p', text);
      await assert.rejects(loadProfile(dir, 'p'), code('PROFILE_CORRUPT'), name);
    }
    writeRaw(dir, 'p', `{"v":2,"pad":"${'x'.repeat(70_000)}"}`);
    await assert.rejects(loadProfile(dir, 'p'), code('PROFILE_CORRUPT'), 'oversize');
  });

  it('saveProfile refuses an invalid profile and leaves the old file intact', async () => {
    const dir = join(base, 'inv');
    await saveProfile(dir, sampleProfile('p'));
    const before = readFileSync(join(dir, 'p.json'), 'utf8');
    await assert.rejects(saveProfile(dir, { ...sampleProfile('p'), clockOffsetMs: 1.5 }), code('PROFILE_INVALID'));
    assert.equal(readFileSync(join(dir, 'p.json'), 'utf8'), before);
  });
});

const isRoot = process.getuid?.() === 0;
const uidOf = (user: string): number => Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());

describe('profiles of another user', { skip: !isRoot && 'needs root (files owned by another account)' }, () => {
  it('ensurePrivateDir refuses a directory owned by another uid, and leaves it as it was', async () => {
    const dir = join(base, 'theirs');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const other = uidOf('tmbuser');
    chownSync(dir, other, other);
    await assert.rejects(ensurePrivateDir(dir), code('PROFILE_PERMISSIONS'));
    await assert.rejects(saveProfile(dir, sampleProfile('x')), code('PROFILE_PERMISSIONS'));
    assert.equal(statSync(dir).mode & 0o777, 0o755);
    await ensurePrivateDir(dir, other); // its owner may use it
  });

  it('loadProfile refuses a profile file owned by another uid', async () => {
    const dir = join(base, 'owned');
    await saveProfile(dir, sampleProfile('p'));
    const other = uidOf('tmbuser');
    chownSync(join(dir, 'p.json'), other, other);
    await assert.rejects(loadProfile(dir, 'p'), code('PROFILE_PERMISSIONS'));
  });
});

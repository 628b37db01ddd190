/**
 * Profiles: paths (XDG_CONFIG_HOME, injected base), round trip with modes 0600/0700, listing,
 * and the error codes of loadProfile: PROFILE_NOT_FOUND, PROFILE_CORRUPT, PROFILE_VERSION,
 * PROFILE_PERMISSIONS; saveProfile refuses invalid profiles.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir, profilesDir } from '../../../../client/state/paths.js';
import { listProfiles, loadProfile, saveProfile } from '../../../../client/state/profile.js';
import { isTumblerError } from '../../../../shared/errors.js';
import { sampleProfile } from './fixtures/sample.js';

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
    const { key: _k, observedAddress: _o, lastGrant: _g, ...rest } = sampleProfile('nokey');
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

  it('PROFILE_VERSION for another schema version', async () => {
    const dir = join(base, 'ver');
    writeRaw(dir, 'p', JSON.stringify({ ...sampleProfile('p'), v: 2 }));
    await assert.rejects(loadProfile(dir, 'p'), code('PROFILE_VERSION'));
    writeRaw(dir, 'q', JSON.stringify({ v: 0, anything: true }));
    await assert.rejects(loadProfile(dir, 'q'), code('PROFILE_VERSION'));
  });

  it('PROFILE_CORRUPT for bad JSON and bad shapes', async () => {
    const dir = join(base, 'corrupt');
    const good = sampleProfile('p') as unknown as Record<string, unknown>;
    const cases: Record<string, string> = {
      'not JSON': '{"v":1,',
      'empty file': '',
      'array': '[]',
      'no version': JSON.stringify({ ...good, v: undefined }),
      'version as string': JSON.stringify({ ...good, v: '1' }),
      'unknown field': JSON.stringify({ ...good, extra: 1 }),
      'missing user': JSON.stringify({ ...good, user: undefined }),
      'name differs from file': JSON.stringify({ ...good, name: 'other' }),
      'server not IP': JSON.stringify({ ...good, server: { address: 'example.com', family: 4 } }),
      'family mismatch': JSON.stringify({ ...good, server: { address: '2001:db8::1', family: 4 } }),
      'deviceId negative': JSON.stringify({ ...good, deviceId: -1 }),
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
      'observed address bad': JSON.stringify({ ...good, observedAddress: 'nowhere' }),
      'grant port 0': JSON.stringify({ ...good, lastGrant: { port: 0, service: 'ssh', expiresAt: 1 } }),
      'grant extra field': JSON.stringify({ ...good, lastGrant: { port: 1, service: 'ssh', expiresAt: 1, x: 1 } }),
      'updatedAt missing': JSON.stringify({ ...good, updatedAt: undefined }),
    };
    for (const [name, text] of Object.entries(cases)) {
      writeRaw(dir, 'p', text);
      await assert.rejects(loadProfile(dir, 'p'), code('PROFILE_CORRUPT'), name);
    }
    writeRaw(dir, 'p', `{"v":1,"pad":"${'x'.repeat(70_000)}"}`);
    await assert.rejects(loadProfile(dir, 'p'), code('PROFILE_CORRUPT'), 'oversize');
  });

  it('saveProfile refuses an invalid profile and leaves the old file intact', async () => {
    const dir = join(base, 'inv');
    await saveProfile(dir, sampleProfile('p'));
    const before = readFileSync(join(dir, 'p.json'), 'utf8');
    await assert.rejects(saveProfile(dir, { ...sampleProfile('p'), deviceId: 1.5 }), code('PROFILE_INVALID'));
    assert.equal(readFileSync(join(dir, 'p.json'), 'utf8'), before);
  });
});

/**
 * The two packages installed, upgraded, removed and purged by dpkg itself into throwaway roots
 * (test/helpers/dpkg-root.ts: maintainer scripts run for real with DPKG_ROOT, the running system is
 * never touched), and used end to end from there:
 *  - postinst creates the worker account and its 0700 state directory, gives the helper
 *    cap_net_raw (setuid root without setcap; an admin's dpkg-statoverride wins), never writes the
 *    configuration; an upgrade keeps configuration and database; remove keeps them; purge deletes
 *    them and says so; nothing else is left;
 *  - in network namespaces (tag "pk"), the packaged tumblerd hides a service, the packaged client
 *    run as the unprivileged test user knocks through the packaged helper and reaches it on the
 *    granted port, and removing the package stops the running daemon while its firewall table
 *    keeps the service closed.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as L from '../../scripts/package/layout.js';
import { buildDebs, type Built } from '../helpers/debs.js';
import { DpkgRoot, hostEntry, run } from '../helpers/dpkg-root.js';
import { NetnsLab, isRoot } from '../helpers/netns.js';

const CLIENT_USER = 'tmbuser';
const SERVER_ADDR = '198.51.100.1';
const CLIENT_ADDR = '198.51.100.2';
const SERVICE_PORT = 2222;
const PASSWORD = 'correct horse battery staple';

function helperCaps(file: string): string {
  return run('getcap', [file]).stdout.trim();
}

function mode(file: string): number {
  return statSync(file).mode & 0o7777;
}

/** Everything under dir, relative, sorted. */
function listTree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe('packages installed by dpkg', { skip: !isRoot && 'needs root (dpkg, chown, setcap, network namespaces)' }, () => {
  const work = mkdtempSync(join(tmpdir(), 'tumbler-pkgtest-'));
  chmodSync(work, 0o755); // the client user reads its bundle below it
  let debs: Built | null = null;
  const built = (): Built => (debs ??= buildDebs(join(work, 'debs')));
  const roots: DpkgRoot[] = [];

  after(() => {
    for (const r of roots) r.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  test('install, upgrade, remove, purge: account, state, helper privilege, configuration left to the admin', () => {
    const { server, client } = built();
    const root = new DpkgRoot({ passwd: ['root:x:0:0:root:/root:/bin/bash'], group: ['root:x:0:'] });
    roots.push(root);
    const seeded = listTree(root.dir);
    const state = root.path(L.STATE_DIR);
    const config = root.path(L.CONFIG_FILE);
    const helper = root.path(L.HELPER);

    // 1. Fresh install.
    const install = root.dpkg(['--install', server, client]);
    assert.equal(install.status, 0, install.stderr);
    assert.equal(root.status(L.SERVER_PACKAGE), 'install ok installed');
    assert.equal(root.status(L.CLIENT_PACKAGE), 'install ok installed');
    const account = root.account(L.WORKER_ACCOUNT);
    assert.ok(account, 'postinst created the worker account');
    const [, , uid, gid, , home, shell] = account;
    assert.ok(Number(uid) > 0 && Number(uid) < 1000, `a system uid: ${uid}`);
    assert.equal(shell, '/usr/sbin/nologin');
    assert.equal(home, '/nonexistent');
    assert.match(readFileSync(root.path('etc/group'), 'utf8'), new RegExp(`^${L.WORKER_ACCOUNT}:[^:]*:${gid}:`, 'm'), 'its own group');
    const st = statSync(state);
    assert.ok(st.isDirectory());
    assert.equal(st.mode & 0o7777, 0o700);
    assert.deepEqual([st.uid, st.gid], [Number(uid), Number(gid)]);
    assert.equal(mode(root.path(L.CONFIG_DIR)), 0o755);
    assert.ok(!existsSync(config), 'the configuration is never written by the package');
    assert.equal(mode(helper), 0o755, 'not setuid when the capability is set');
    assert.match(helperCaps(helper), /cap_net_raw[=+]ep/);

    // 2. Upgrade (the same version again: prerm upgrade, new files, postinst configure OLD).
    writeFileSync(config, '# the admin\'s own configuration\n', { mode: 0o640 });
    writeFileSync(join(state, 'tumbler.db'), 'the database', { mode: 0o600 });
    const upgrade = root.dpkg(['--install', server, client]);
    assert.equal(upgrade.status, 0, upgrade.stderr);
    assert.equal(readFileSync(config, 'utf8'), '# the admin\'s own configuration\n');
    assert.equal(mode(config), 0o640);
    assert.equal(readFileSync(join(state, 'tumbler.db'), 'utf8'), 'the database');
    assert.equal(readFileSync(root.path('etc/passwd'), 'utf8').split('\n').filter((l) => l.startsWith(`${L.WORKER_ACCOUNT}:`)).length, 1);
    assert.match(helperCaps(helper), /cap_net_raw[=+]ep/, 'the new helper file got the capability again');

    // 3. No setcap on PATH: setuid root instead.
    const postinst = root.path(`var/lib/dpkg/info/${L.CLIENT_PACKAGE}.postinst`);
    const noSetcap = run('sh', [postinst, 'configure', '0'], { env: { PATH: '/usr/bin:/bin', DPKG_ROOT: root.dir } });
    assert.equal(noSetcap.status, 0, noSetcap.stderr);
    assert.equal(mode(helper), 0o4755);
    assert.equal(statSync(helper).uid, 0);
    assert.equal(helperCaps(helper), '');

    // 4. The admin's dpkg-statoverride wins, now and on the next unpack.
    assert.equal(run('dpkg-statoverride', [`--root=${root.dir}`, '--add', 'root', 'root', '0750', L.HELPER]).status, 0);
    const overridden = run('sh', [postinst, 'configure', '0'], { env: { ...process.env, DPKG_ROOT: root.dir } });
    assert.equal(overridden.status, 0, overridden.stderr);
    assert.equal(mode(helper), 0o4755, 'left as it was');
    assert.equal(helperCaps(helper), '');
    assert.equal(root.dpkg(['--install', client]).status, 0);
    assert.equal(mode(helper), 0o750, 'dpkg applied the override');
    assert.equal(helperCaps(helper), '');
    assert.equal(run('dpkg-statoverride', [`--root=${root.dir}`, '--remove', L.HELPER]).status, 0);
    assert.equal(root.dpkg(['--install', client]).status, 0);
    assert.match(helperCaps(helper), /cap_net_raw[=+]ep/);

    // 5. Remove: the program goes, the configuration and the database stay.
    const remove = root.dpkg(['--remove', L.SERVER_PACKAGE, L.CLIENT_PACKAGE]);
    assert.equal(remove.status, 0, remove.stderr);
    assert.equal(root.status(L.SERVER_PACKAGE), 'deinstall ok config-files');
    for (const gone of [L.TUMBLERD, L.TUMBLER, L.SERVER_ROOT, L.CLIENT_ROOT, `${L.UNIT_DIR}/${L.UNIT_NAME}`]) {
      assert.ok(!existsSync(root.path(gone)), `${gone} removed`);
    }
    assert.ok(existsSync(config) && existsSync(join(state, 'tumbler.db')), 'remove keeps configuration and database');

    // 6. Purge: the database and the configuration go too, and the output says so.
    const purge = root.dpkg(['--purge', L.SERVER_PACKAGE, L.CLIENT_PACKAGE]);
    assert.equal(purge.status, 0, purge.stderr);
    assert.equal(root.status(L.SERVER_PACKAGE), '');
    assert.ok(!existsSync(state) && !existsSync(config) && !existsSync(root.path(L.CONFIG_DIR)));
    assert.ok(purge.stdout.includes(L.STATE_DIR) && purge.stdout.includes(L.CONFIG_FILE), 'purge names what it deleted');
    assert.ok(root.account(L.WORKER_ACCOUNT), 'the account stays (a recycled uid could inherit its files)');

    // 7. Nothing else is left: only what the test seeded, dpkg's own database and the account files' backups.
    const left = listTree(root.dir).filter((p) => !seeded.includes(p) && !p.startsWith('var/lib/dpkg/') && !/^etc\/(passwd|group)-$/.test(p));
    assert.deepEqual(left, []);
  });

  test('the installed packages work end to end, and removing the server stops its daemon', async (t) => {
    const { server, client } = built();
    // The tree's accounts are the host's, so the daemon (which asks NSS) and the tree agree on ids.
    const root = new DpkgRoot({
      passwd: ['root:x:0:0:root:/root:/bin/bash', hostEntry('passwd', L.WORKER_ACCOUNT), hostEntry('passwd', CLIENT_USER)],
      group: ['root:x:0:', hostEntry('group', L.WORKER_ACCOUNT), hostEntry('group', CLIENT_USER)],
    });
    roots.push(root);
    const install = root.dpkg(['--install', server, client]);
    assert.equal(install.status, 0, install.stderr);

    const lab = new NetnsLab('pk');
    t.after(() => {
      root.killProcesses(); // the daemon and its worker, if a failure left them running
      lab.cleanup();
    });
    const srv = lab.addNamespace('srv');
    const cli = lab.addNamespace('cli');
    lab.link({ ns: srv, ifname: 'eth0', addresses: [`${SERVER_ADDR}/24`] }, { ns: cli, ifname: 'eth0', addresses: [`${CLIENT_ADDR}/24`] });
    await lab.tcpServer(srv, SERVICE_PORT, 'pk-service', SERVER_ADDR);
    assert.equal((await lab.tcpProbe(cli, SERVER_ADDR, SERVICE_PORT)).status, 'connected', 'reachable before tumblerd runs');

    // The admin's configuration, as the package's postinst asks for.
    writeFileSync(root.path(L.CONFIG_FILE), `[server]
interfaces = ["eth0"]
addresses = ["${SERVER_ADDR}"]
user = "${L.WORKER_ACCOUNT}"
database = "${root.path(`${L.STATE_DIR}/tumbler.db`)}"

[knock]
ports = "40000-40999"

[grant]
ports = "50000-50999"

[services.ssh]
id = 1
target = "${SERVER_ADDR}:${SERVICE_PORT}"
`, { mode: 0o644 });
    const tumblerd = root.path(L.TUMBLERD);
    const tumbler = root.path(L.TUMBLER);
    const cfg = root.path(L.CONFIG_FILE);

    // The packaged daemon, started by hand (no systemd here) with the packaged pid file path.
    const daemon = lab.spawn(srv, [tumblerd, '--config', cfg, 'run', '--pid-file', root.path(L.PID_FILE)]);
    await untilReady(daemon);
    assert.equal((await lab.tcpProbe(cli, SERVER_ADDR, SERVICE_PORT)).status, 'timeout', 'hidden once tumblerd runs');

    // The admin enrolls a user; the user enrolls and knocks with the packaged client, unprivileged.
    const files = mkdtempSync(join(work, 'files-'));
    chmodSync(files, 0o755);
    const ids = { uid: Number(hostEntry('passwd', CLIENT_USER).split(':')[2]), gid: Number(hostEntry('passwd', CLIENT_USER).split(':')[3]) };
    const home = join(files, 'home');
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, ids.uid, ids.gid);
    writeFileSync(join(files, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
    const bundle = join(files, 'alice.bundle');
    const add = lab.run(srv, [tumblerd, '--config', cfg, 'user', 'add', 'alice', '--services', 'ssh', '--password-file', join(files, 'password'), '--out', bundle]);
    assert.equal(add.code, 0, add.stderr);
    chmodSync(bundle, 0o644);
    const asUser = (args: string[]): { code: number | null; stdout: string; stderr: string } => lab.run(cli, [
      'setpriv', `--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--init-groups', '--', 'env', '-i', `HOME=${home}`, `XDG_CONFIG_HOME=${join(home, '.config')}`,
      'PATH=/usr/bin:/bin',
      // A helper installed earlier by `tumbler install-helper` is looked at first: name the packaged one then.
      ...(existsSync('/usr/local/lib/tumbler/tumbler-helper') ? [`TUMBLER_HELPER=${root.path(L.HELPER)}`] : []),
      tumbler, ...args,
    ], { timeoutMs: 60_000 });
    // The user's own copy of the password (password files must be private to their reader).
    writeFileSync(join(home, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
    chownSync(join(home, 'password'), ids.uid, ids.gid);
    const enroll = asUser(['enroll', bundle, '--name', 'work', '--password-file', join(home, 'password')]);
    assert.equal(enroll.code, 0, enroll.stderr);
    const open = asUser(['open', 'work', '--json']);
    assert.equal(open.code, 0, open.stderr);
    const port = (JSON.parse(open.stdout) as { port: number }).port;
    const granted = await lab.tcpProbe(cli, SERVER_ADDR, port, 3_000);
    assert.deepEqual(granted, { status: 'connected', banner: 'pk-service' }, 'the granted port leads to the service');

    // Removing the server package stops the daemon it runs (prerm: tumblerd stop with the pid file).
    const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
    const remove = root.dpkg(['--remove', L.SERVER_PACKAGE]);
    assert.equal(remove.status, 0, remove.stderr);
    const code = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000))]);
    assert.equal(code, 0, 'the daemon exited cleanly when its package was removed');
    assert.ok(!existsSync(root.path(L.PID_FILE)), 'its pid file is gone');
    // ... and its firewall table stays: the service stays hidden, as on any stop.
    assert.equal((await lab.tcpProbe(cli, SERVER_ADDR, SERVICE_PORT)).status, 'timeout');
    assert.equal(lab.run(srv, ['nft', 'list', 'table', 'inet', 'tumbler']).code, 0);
    assert.deepEqual(root.killProcesses(), [], 'no tumblerd process is left running');

    const purge = root.dpkg(['--purge', L.SERVER_PACKAGE, L.CLIENT_PACKAGE]);
    assert.equal(purge.status, 0, purge.stderr);
    assert.ok(!existsSync(root.path(L.STATE_DIR)));
  });
});

/** Waits (bounded) for the daemon's worker to report ready; fails at once if the daemon exits. */
async function untilReady(daemon: ChildProcess, timeoutMs = 30_000): Promise<void> {
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tumblerd not ready in ${timeoutMs} ms:\n${log.slice(-3000)}`)), timeoutMs);
    daemon.stdout!.on('data', (b: Buffer) => {
      log += b.toString();
      if (log.includes('"worker.ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    daemon.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tumblerd exited ${code} before it was ready:\n${log.slice(-3000)}`));
    });
  });
  daemon.stdout!.resume();
}

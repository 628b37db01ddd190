/**
 * A throwaway root directory that dpkg installs into with `--root=DIR --force-script-chrootless`:
 * the packages' maintainer scripts run for real, with DPKG_ROOT=DIR, and change only that tree
 * (its own /etc/passwd, /var/lib, ...), never the running system. The tree starts with an empty
 * dpkg database and the account lines the test chooses (no shadow files, no passwords).
 * --force-depends: the tree holds none of the packages' dependencies (nodejs, libpcap, ...);
 * the commands installed in it run with the host's.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, env: opts.env ?? process.env });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The host's passwd or group line of `name` (getent), for a tree whose ids must match the host's. */
export function hostEntry(db: 'passwd' | 'group', name: string): string {
  const r = run('getent', [db, name]);
  if (r.status !== 0) throw new Error(`no ${db} entry ${name} on this host (scripts/setup.sh creates the test accounts)`);
  return r.stdout.trim();
}

export class DpkgRoot {
  readonly dir: string;

  constructor(accounts: { passwd: readonly string[]; group: readonly string[] }) {
    this.dir = mkdtempSync(join(tmpdir(), 'tumbler-dpkgroot-'));
    chmodSync(this.dir, 0o755); // the worker and the client user run code from it
    const admin = join(this.dir, 'var/lib/dpkg');
    for (const d of ['info', 'updates', 'triggers']) mkdirSync(join(admin, d), { recursive: true });
    writeFileSync(join(admin, 'status'), '');
    writeFileSync(join(admin, 'available'), '');
    mkdirSync(join(this.dir, 'etc'));
    writeFileSync(join(this.dir, 'etc/passwd'), `${accounts.passwd.join('\n')}\n`, { mode: 0o644 });
    writeFileSync(join(this.dir, 'etc/group'), `${accounts.group.join('\n')}\n`, { mode: 0o644 });
  }

  path(p: string): string {
    return join(this.dir, p);
  }

  /** dpkg with this tree as its root. */
  dpkg(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Run {
    return run('dpkg', [`--root=${this.dir}`, '--force-script-chrootless', '--force-depends', ...args], { env });
  }

  /** dpkg's state of a package in this tree ("install ok installed", "deinstall ok config-files", "" when unknown). */
  status(pkg: string): string {
    const r = run('dpkg-query', [`--admindir=${this.path('var/lib/dpkg')}`, '-W', '-f=${Status}', pkg]);
    return r.status === 0 ? r.stdout.trim() : '';
  }

  /** A line of the tree's own passwd file, split. */
  account(name: string): string[] | undefined {
    return run('grep', [`^${name}:`, this.path('etc/passwd')]).stdout.split('\n').filter(Boolean).map((l) => l.split(':'))[0];
  }

  /**
   * SIGKILL every process running a program from this tree (argv names a file under it), by PID:
   * a daemon started from the tree and a worker it left behind. The tree's path is unique to this
   * test, so nothing else can match.
   */
  killProcesses(): number[] {
    const killed: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      let argv: string[];
      try {
        argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      } catch {
        continue; // gone
      }
      if (!argv.some((a) => a.startsWith(`${this.dir}/`))) continue;
      try {
        process.kill(Number(entry), 'SIGKILL');
        killed.push(Number(entry));
      } catch {
        /* already gone */
      }
    }
    return killed;
  }

  destroy(): void {
    this.killProcesses();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A throwaway PostgreSQL cluster for tests and benchmarks (root only): initdb + pg_ctl as the
 * `postgres` account in a temporary directory, listening only on a Unix socket in that directory
 * (no TCP port; reachable from every network namespace, since the socket is a file). `-A trust`
 * is for tests only. stop() ends it through pg_ctl and, failing that, by the postmaster's PID.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findAccount } from '../../server/account.js';

const BIN = '/usr/lib/postgresql/15/bin';

function asPostgres(args: string[], timeoutMs = 60_000): { code: number | null; out: string } {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export const havePostgres = process.getuid?.() === 0 && existsSync(join(BIN, 'initdb'));

export class TestPostgres {
  private stopped = false;
  private dbCount = 0;

  private constructor(readonly dir: string) {}

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** initdb and start; `fsync` off only where a test says durability does not matter. A failure part-way stops what started and removes the directory. */
  static start(o: { fsync?: boolean } = {}): TestPostgres {
    const pg = new TestPostgres(mkdtempSync(join(tmpdir(), 'tmb-pg-')));
    try {
      const account = findAccount('postgres');
      if (!account) throw new Error('no postgres account');
      chownSync(pg.dir, account.uid, account.gid);
      chmodSync(pg.dir, 0o755); // the worker account reaches the socket
      const init = asPostgres([join(BIN, 'initdb'), '-D', pg.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
      if (init.code !== 0) throw new Error(`initdb failed: ${init.out}`);
      pg.startServer(o.fsync ?? true);
    } catch (e) {
      pg.stop();
      throw e;
    }
    return pg;
  }

  private startServer(fsync: boolean): void {
    const opts = `-k ${this.dir} -c listen_addresses='' -c fsync=${fsync ? 'on' : 'off'} -c max_connections=100`;
    const r = asPostgres([join(BIN, 'pg_ctl'), '-D', this.dataDir, '-o', opts, '-l', join(this.dir, 'log'), '-w', '-t', '60', 'start']);
    if (r.code !== 0) throw new Error(`pg_ctl start failed: ${r.out}\n${this.log()}`);
  }

  /** Stop the server (the cluster stays), e.g. to test what gateways do while it is down. */
  pause(): void {
    asPostgres([join(BIN, 'pg_ctl'), '-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  resume(fsync = true): void {
    this.startServer(fsync);
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'log'), 'utf8').slice(-3000);
    } catch {
      return '';
    }
  }

  /** psql as the superuser on database `db`. */
  psql(sql: string, db = 'postgres'): string {
    const r = asPostgres([join(BIN, 'psql'), '-h', this.dir, '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql]);
    if (r.code !== 0) throw new Error(`psql failed: ${r.out}`);
    return r.out.trim();
  }

  /** A new empty database; returns its URL (peer-less trust auth, socket in the cluster's directory). */
  createDatabase(name = `t${process.pid}_${++this.dbCount}`): string {
    this.psql(`CREATE DATABASE ${name}`);
    return this.url(name);
  }

  url(db: string): string {
    return `postgresql://postgres@/${db}?host=${encodeURIComponent(this.dir)}`;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const r = asPostgres([join(BIN, 'pg_ctl'), '-D', this.dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']);
    if (r.code !== 0) {
      const pidFile = join(this.dataDir, 'postmaster.pid');
      if (existsSync(pidFile)) {
        const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
        try { if (pid > 0) process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

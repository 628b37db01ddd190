/**
 * tcpdump in a network namespace, started and known to be capturing: tcpdump prints "listening on"
 * on stderr once its capture is attached, so callers wait for that line instead of sleeping.
 */
import type { ChildProcess } from 'node:child_process';

/** Spawns with stdio [ignore, pipe, pipe]; World.spawnTracked fits, so its cleanup kills by PID. */
export type Spawner = (cmd: string, args: string[]) => ChildProcess;

/** Starts `tcpdump <args>` inside `ns`; resolves once it listens, rejects when it exits or times out. */
export async function startTcpdump(ns: string, args: readonly string[], o: { spawner: Spawner; timeoutMs?: number }): Promise<ChildProcess> {
  const td = o.spawner('ip', ['netns', 'exec', ns, 'tcpdump', ...args]);
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`tcpdump in ${ns} ${why}: ${err.trim()}`));
    };
    const timer = setTimeout(() => fail('did not start in time'), o.timeoutMs ?? 15_000);
    td.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    td.once('exit', () => fail('exited'));
  });
  return td;
}

/** SIGTERM and wait for the exit (tcpdump flushes its file on SIGTERM). */
export async function stopTcpdump(td: ChildProcess): Promise<void> {
  if (td.exitCode !== null || td.signalCode !== null) return;
  const exited = new Promise((r) => td.once('exit', r));
  td.kill('SIGTERM');
  await exited;
}

/**
 * Run one firewall tool (nft, iptables, ipset...) without a shell: argv arrays only, an optional
 * command prefix (tests: `ip netns exec NS`), C locale (error texts are matched), a time limit,
 * bounded output. Never rejects: the caller reads `code`, `stdout`, `stderr`.
 */
import { spawn } from 'node:child_process';
import { isTumblerError, TumblerError } from '../../../shared/errors.js';

export interface RunResult {
  readonly code: number | null; // null: killed (time limit) or could not start
  readonly stdout: string;
  readonly stderr: string;
  readonly error?: string; // spawn failure (e.g. ENOENT) or 'timeout'
}

const MAX_OUTPUT = 64 * 1024 * 1024;

/**
 * The tools' whole environment. HOME=/dev/null: `nft -i` reads and writes its command history at
 * $HOME/.nft.history (with HOME unset: /.nft.history), which would leave every client address
 * in a root-owned file; under /dev/null both fail silently.
 */
export const TOOL_ENV: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', HOME: '/dev/null' };

export function runTool(argv: readonly string[], opts: { input?: string; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    if (!cmd) {
      resolve({ code: null, stdout: '', stderr: '', error: 'empty command' });
      return;
    }
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: TOOL_ENV });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let error: string | undefined;
    const keep = (into: Buffer[]) => (d: Buffer): void => {
      size += d.length;
      if (size <= MAX_OUTPUT) into.push(d);
    };
    child.stdout.on('data', keep(out));
    child.stderr.on('data', keep(err));
    child.stdin.on('error', () => { /* the tool exited before reading everything: its status says why */ });
    const timer = setTimeout(() => {
      error = 'timeout';
      if (child.pid !== undefined) child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (e) => {
      error ??= (e as NodeJS.ErrnoException).code ?? e.message;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: error ? null : code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), error });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** First line that looks like the tool's error, for error messages (never contains secrets: firewall syntax only). */
export function firstErrorLine(text: string): string {
  const line = text.split('\n').find((l) => /error|warning|invalid|fail|unknown|can't|cannot|not /i.test(l)) ?? text.split('\n')[0] ?? '';
  return line.trim().slice(0, 200);
}

/** `e` as a TumblerError: itself when it is one, else `code` with its message. */
export function asFirewallError(e: unknown, code: string): TumblerError {
  return isTumblerError(e) ? e : new TumblerError(code, e instanceof Error ? e.message : 'firewall error');
}

/**
 * A long-lived command-line tool driven line by line on stdin (`nft -i`, `ipset -`): no process per
 * grant. Completion is detected with a marker: after each request we send a line that the tool
 * reports as an error naming a unique token (`tumbler_sync_N`). Tools write errors to stderr in
 * input order, so once the marker's report arrives, everything written on stderr before it
 * belongs to the request ('' = success). Only stderr is read (one fd keeps the order); stdout is
 * drained and ignored. Requests are pipelined and answered in order. A request that takes longer
 * than the time limit, or a tool that exits, fails every pending request; the next request starts
 * a fresh child. The child keeps the event loop alive only while requests are pending.
 *
 * Recycling: `nft -i` adds every line to its in-memory history (libedit, no size limit), so a
 * child that has served `maxRequests` requests is ended (EOF) once it is idle and the next request
 * starts a fresh one: memory stays bounded in a daemon that runs for months.
 *
 * Errors: FIREWALL_START (cannot run the tool), FIREWALL_EXITED, FIREWALL_TIMEOUT,
 * FIREWALL_PROTOCOL (unparseable output), FIREWALL_DISPOSED, FIREWALL_BAD_VALUE (a line break
 * inside a command line).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { TumblerError } from '../../../shared/errors.js';
import { TOOL_ENV } from './run.js';

/** How one tool reports the marker line. */
export interface MarkerProtocol {
  /** The tool's name, for messages. */
  readonly tool: string;
  /** The marker line for token `tumbler_sync_N` (must make the tool report an error naming the token). */
  line(token: string): string;
  /** Start and end (exclusive) of the marker's report in `buf`, or null when it is not complete yet. */
  find(buf: string, token: string): { start: number; end: number } | null;
  /** Leftover lines of earlier reports to drop from the start of the buffer. */
  readonly junk: RegExp;
}

interface Pending {
  readonly token: string;
  readonly resolve: (stderr: string) => void;
  readonly reject: (e: Error) => void;
}

const MAX_BUFFER = 4 * 1024 * 1024;

export class LineSession {
  private child: ChildProcessWithoutNullStreams | null = null;
  private pending: Pending[] = [];
  private buf = '';
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private disposed = false;
  private served = 0; // requests sent to the current child

  /** `argv`: the full command, e.g. ['nft', '-i'] or ['ip', 'netns', 'exec', 'NS', 'nft', '-i']. */
  constructor(
    private readonly argv: readonly string[],
    private readonly protocol: MarkerProtocol,
    private readonly timeoutMs: number,
    private readonly maxRequests = 10_000,
  ) {}

  /** Send command lines; resolves to what the tool wrote on stderr for them ('' = no complaint). */
  run(lines: string | readonly string[]): Promise<string> {
    const list = typeof lines === 'string' ? [lines] : lines;
    if (this.disposed) return Promise.reject(new TumblerError('FIREWALL_DISPOSED', 'firewall backend already disposed'));
    // One line each; a trailing backslash would make nft join the next line (our marker) to it.
    if (list.some((l) => /[\n\r\0]|\\$/.test(l))) return Promise.reject(new TumblerError('FIREWALL_BAD_VALUE', 'a command must be one line'));
    this.recycleIfDue();
    const child = this.child ?? this.start();
    this.served++;
    const token = `tumbler_sync_${++this.seq}`;
    return new Promise<string>((resolve, reject) => {
      this.pending.push({ token, resolve, reject });
      this.setRef(true);
      if (this.pending.length === 1) this.arm();
      child.stdin.write(`${[...list, this.protocol.line(token)].join('\n')}\n`);
    });
  }

  /** PID of the running child, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** End the child (EOF on stdin, SIGKILL after 3 s). Later requests are refused. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
      child.once('close', () => {
        clearTimeout(kill);
        resolve();
      });
      child.stdin.end();
    });
  }

  private start(): ChildProcessWithoutNullStreams {
    const [cmd, ...args] = this.argv;
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'], env: TOOL_ENV });
    this.child = child;
    this.buf = '';
    this.served = 0;
    child.stdout.resume();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => this.onStderr(child, d));
    child.stdin.on('error', () => { /* the close handler fails the pending requests */ });
    child.on('error', (e) => this.fail(child, new TumblerError('FIREWALL_START', `cannot run ${cmd} (${(e as NodeJS.ErrnoException).code ?? e.message})`)));
    child.on('close', () => this.fail(child, new TumblerError('FIREWALL_EXITED', `${cmd} exited`)));
    return child;
  }

  private onStderr(child: ChildProcessWithoutNullStreams, data: string): void {
    if (child !== this.child) return;
    this.buf += data;
    for (;;) {
      this.dropJunk();
      const head = this.pending[0];
      if (!head) break;
      const report = this.protocol.find(this.buf, head.token);
      if (!report) break;
      const own = this.buf.slice(0, report.start);
      this.buf = this.buf.slice(report.end);
      this.pending.shift();
      this.arm();
      head.resolve(own);
    }
    if (this.pending.length === 0) {
      this.setRef(false);
      this.recycleIfDue();
    }
    if (this.buf.length > MAX_BUFFER) {
      this.fail(child, new TumblerError('FIREWALL_PROTOCOL', 'unexpected output from the firewall tool'));
      child.kill('SIGKILL');
    }
  }

  /** End an idle child that has served maxRequests (it exits on EOF); the next request starts another. */
  private recycleIfDue(): void {
    const child = this.child;
    if (!child || this.pending.length > 0 || this.served < this.maxRequests) return;
    this.child = null;
    child.unref();
    child.stdin.end();
  }

  private dropJunk(): void {
    for (let i = 0; i < 100; i++) {
      const m = this.protocol.junk.exec(this.buf);
      if (!m || m.index !== 0 || m[0].length === 0) return;
      this.buf = this.buf.slice(m[0].length);
    }
  }

  /** (Re)start the time limit for the oldest pending request. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const child = this.child;
    if (this.pending.length === 0 || !child) return;
    this.timer = setTimeout(() => {
      this.fail(child, new TumblerError('FIREWALL_TIMEOUT', `${this.protocol.tool} did not answer within ${this.timeoutMs} ms`));
      child.kill('SIGKILL');
    }, this.timeoutMs);
  }

  private fail(child: ChildProcessWithoutNullStreams, e: Error): void {
    if (child !== this.child) return;
    this.child = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) p.reject(e);
    child.unref();
  }

  private setRef(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const s of [c, c.stdin, c.stdout, c.stderr] as Array<{ ref(): unknown; unref(): unknown }>) {
      if (on) s.ref();
      else s.unref();
    }
  }
}

/**
 * `nft -i`: the marker `tumbler_sync_N` alone on a line is a syntax error; nft prints
 * "Error: syntax error, ...", the line itself, then a caret line.
 */
export const NFT_MARKER: MarkerProtocol = {
  tool: 'nft',
  line: (token) => token,
  find(buf, token) {
    const at = buf.indexOf(`\n${token}\n`);
    if (at < 0) return null;
    const err = buf.lastIndexOf('Error:', at);
    return { start: err >= 0 ? err : at, end: at + token.length + 2 };
  },
  junk: /^[ \t]*\^[\^~ \t]*\n/,
};

/**
 * `ipset -` (interactive): `list tumbler-sync tumbler_sync_N` has one argument too many; ipset
 * prints "ipset vX: Unknown argument tumbler_sync_N" (quoting varies by version) and a
 * "Try `ipset help'" line. Prompts go to stdout.
 */
export const IPSET_MARKER: MarkerProtocol = {
  tool: 'ipset',
  line: (token) => `list tumbler-sync ${token}`,
  find(buf, token) {
    const m = new RegExp(`${token}(?![0-9A-Za-z_])[^\\n]*\\n`).exec(buf);
    if (!m) return null;
    return { start: buf.lastIndexOf('\n', m.index) + 1, end: m.index + m[0].length };
  },
  junk: /^Try `ipset help' for more information\.\n/,
};

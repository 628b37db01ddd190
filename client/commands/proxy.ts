/**
 * `tumbler proxy <PROFILE> <SERVICE>`: for ssh's ProxyCommand. Knocks (any message goes to
 * stderr; stdout carries only the session), connects to the granted port and copies
 * stdin → socket → stdout until either side ends. A key kept off disk is asked for on /dev/tty.
 */
import { connect } from 'node:net';
import { TumblerError } from '../../shared/errors.js';
import { openService } from '../knock/open.js';
import { profileDir } from './context.js';
import { grantLine, realDeps } from './open.js';

const CONNECT_TIMEOUT_MS = 10_000;
/** After stdin ends, how long the server gets to close its side. */
const LINGER_MS = 5_000;

export interface ProxyOptions {
  readonly timeout?: number;
  readonly publicAddress?: string;
  readonly gateway?: string;
  readonly passwordFile?: string;
  readonly verbose?: boolean;
}

/** Connects to host:port and splices it with input/output. Resolves when the connection is over. */
export function splice(host: string, port: number, input: NodeJS.ReadableStream, output: NodeJS.WritableStream,
  connectTimeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let connected = false;
    let settled = false;
    const settle = (err: TumblerError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      input.unpipe(sock);
      input.pause();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => {
      sock.destroy();
      settle(new TumblerError('PROXY_CONNECT', `connecting to ${host} port ${port} timed out`));
    }, connectTimeoutMs);
    sock.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      sock.setNoDelay(true);
      input.pipe(sock); // stdin's end half-closes the socket
      sock.pipe(output, { end: false });
      input.once('end', () => setTimeout(() => sock.destroy(), LINGER_MS).unref());
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) settle(new TumblerError('PROXY_CONNECT', `cannot connect to ${host} port ${port} (${e.code ?? e.message})`));
      else settle(new TumblerError('PROXY_IO', `connection to ${host} port ${port} failed (${e.code ?? e.message})`));
    });
    sock.once('close', () => settle(null));
  });
}

export async function run(profile: string, service: string, o: ProxyOptions): Promise<void> {
  const r = await openService(
    { dir: profileDir(), profile, service, timeoutMs: o.timeout, publicAddress: o.publicAddress, gateway: o.gateway },
    realDeps({ passwordFile: o.passwordFile, ttyOnly: true, verbose: o.verbose }),
  );
  if (o.verbose) process.stderr.write(`tumbler: ${grantLine(r, Date.now())}\n`);
  try {
    await splice(r.server, r.port, process.stdin, process.stdout);
  } catch (e) {
    process.stdin.destroy(); // nothing more to relay: do not let stdin hold the process open
    throw e;
  }
  // stdin may still hold the event loop open; everything written to stdout is flushed first.
  await new Promise<void>((res) => process.stdout.write('', () => res()));
  process.exit(0);
}

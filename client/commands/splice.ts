/**
 * The ProxyCommand relay of `tumbler proxy`: connect to the granted port and copy stdin → socket →
 * stdout until either side ends. Kept apart from the knock so a grant from the agent is relayed
 * without loading the open flow.
 */
import { connect } from 'node:net';
import { TumblerError } from '../../shared/errors.js';

const CONNECT_TIMEOUT_MS = 10_000;
/** After stdin ends, how long the server gets to close its side. */
const LINGER_MS = 5_000;

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

/** Relays this process's stdin/stdout through host:port, then exits 0 (stdin may hold the loop open). */
export async function relay(host: string, port: number): Promise<never> {
  try {
    await splice(host, port, process.stdin, process.stdout);
  } catch (e) {
    process.stdin.destroy(); // nothing more to relay: do not let stdin hold the process open
    throw e;
  }
  // stdin may still hold the event loop open; everything written to stdout is flushed first.
  await new Promise<void>((res) => process.stdout.write('', () => res()));
  return process.exit(0);
}

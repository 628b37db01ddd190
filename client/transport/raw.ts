/**
 * In-process raw-socket transport, for a client that may open raw sockets itself (root, or
 * CAP_NET_RAW): sends the three prebuilt IP packets through an IPPROTO_RAW socket (header included,
 * receives nothing) and reads the SYN-ACK answering the last one from a raw IPPROTO_TCP socket,
 * matching exactly what the setuid helper matches (client/helper/README.md). The receive socket is
 * opened before anything is sent, so the reply cannot slip past. IPv4 raw receive includes the IP
 * header; IPv6 hands over the TCP segment only, matched with the sender's address.
 */
import { createRequire } from 'node:module';
import { TumblerError } from '../../shared/errors.js';
import { IPPROTO_TCP } from '../../shared/packet/constants.js';
import { describeSyn, matchReply, matchReplySegment, type Family } from '../knock/wire.js';

const IPPROTO_RAW = 255;
const IPPROTO_IPV6 = 41;
const IPV6_HDRINCL = 36; // linux/in6.h (raw-socket exports it on Windows only)

type RawModule = typeof import('raw-socket');
type RawSocket = ReturnType<RawModule['createSocket']>;

let rawModule: RawModule | null = null;
/**
 * Strong references to the sockets of knocks in progress: raw-socket's native handle does not keep
 * its JS object alive, so an unreferenced socket could be garbage-collected (and closed) mid-knock.
 */
const live = new Set<RawSocket>();

/**
 * Loads the native module (throws RAW_UNAVAILABLE when it is not built). require, not import():
 * the users' client is a bundle run by vm.Script (scripts/build-client.mjs), where a dynamic
 * import() has no loader and always fails; raw-socket is CommonJS either way.
 */
export async function loadRawSocket(): Promise<RawModule> {
  if (rawModule) return rawModule;
  try {
    rawModule = createRequire(import.meta.url)('raw-socket') as RawModule;
    return rawModule;
  } catch (e) {
    throw new TumblerError('RAW_UNAVAILABLE', 'the raw-socket module is not available', { cause: e });
  }
}

function open(raw: RawModule, family: Family, protocol: number): RawSocket {
  try {
    return raw.createSocket({ protocol, addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6 });
  } catch (e) {
    const msg = (e as Error).message ?? '';
    const code = /not permitted|EPERM|EACCES/i.test(msg) ? 'RAW_NOT_PERMITTED' : 'RAW_UNAVAILABLE';
    throw new TumblerError(code, `cannot open a raw IPv${family} socket: ${msg}`, { cause: e });
  }
}

function sendOne(sock: RawSocket, packet: Buffer, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.send(packet, 0, packet.length, address, (err, bytes) => {
      if (err) reject(new TumblerError('RAW_SEND', `raw send failed: ${err.message}`));
      else if (bytes !== packet.length) reject(new TumblerError('RAW_SEND', 'raw send was truncated'));
      else resolve();
    });
  });
}

/**
 * Sends `packets` in order and resolves the payload of the SYN-ACK answering the last one (for
 * which `accept`, when given, returns true), or null after `timeoutMs` without one.
 */
export async function sendRaw(family: Family, packets: readonly Buffer[], timeoutMs: number,
  accept?: (payload: Buffer) => boolean): Promise<Buffer | null> {
  if (packets.length !== 3) throw new TumblerError('RAW_BAD_REQUEST', 'a knock is three packets');
  const last = describeSyn(packets[2]!);
  if (last.family !== family) throw new TumblerError('RAW_BAD_REQUEST', 'packet family mismatch');
  const raw = await loadRawSocket();
  const recv = open(raw, family, IPPROTO_TCP);
  let send: RawSocket;
  try {
    send = open(raw, family, IPPROTO_RAW);
    if (family === 6) send.setOption(IPPROTO_IPV6, IPV6_HDRINCL, 1);
  } catch (e) {
    recv.close();
    throw e;
  }
  live.add(recv);
  live.add(send);
  return new Promise<Buffer | null>((resolve, reject) => {
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: Error | null, value: Buffer | null): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      recv.close();
      send.close();
      live.delete(recv);
      live.delete(send);
      if (err) reject(err);
      else resolve(value);
    };
    recv.on('error', (e) => finish(new TumblerError('RAW_RECEIVE', `raw receive failed: ${e.message}`), null));
    send.on('error', (e) => finish(new TumblerError('RAW_SEND', `raw send failed: ${e.message}`), null));
    recv.on('message', (buf, source) => {
      if (done) return;
      // Both copy the payload: `buf` is reused by the next message.
      const payload = family === 4 ? matchReply(buf, last) : matchReplySegment(buf, source, last);
      if (payload && (!accept || accept(payload))) finish(null, payload);
    });
    void (async () => {
      try {
        for (const p of packets) await sendOne(send, p, last.dst);
      } catch (e) {
        finish(e as Error, null);
        return;
      }
      if (!done) timer = setTimeout(() => finish(null, null), timeoutMs);
    })();
  });
}

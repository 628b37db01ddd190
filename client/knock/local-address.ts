/**
 * The local source address the kernel would use to reach the server: `connect()` a UDP socket to
 * server:9 and read its `address()`. A UDP connect only picks a route; nothing is sent.
 */
import { createSocket } from 'node:dgram';
import { TumblerError } from '../../shared/errors.js';
import type { Family } from './wire.js';

export function localAddressFor(server: string, family: Family): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket(family === 4 ? 'udp4' : 'udp6');
    const fail = (e: unknown): void => {
      try { s.close(); } catch { /* closed */ }
      reject(new TumblerError('NO_ROUTE', `no route to ${server} (${(e as NodeJS.ErrnoException)?.code ?? 'error'})`, { cause: e }));
    };
    s.once('error', fail);
    try {
      s.connect(9, server, () => {
        try {
          const { address } = s.address();
          s.close();
          resolve(address.split('%')[0]!); // drop an IPv6 zone suffix
        } catch (e) {
          fail(e);
        }
      });
    } catch (e) {
      fail(e);
    }
  });
}

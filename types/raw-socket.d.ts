/**
 * Minimal type declaration for the `raw-socket` npm package (1.8), which ships none: only what the
 * client's raw transport (client/transport/raw.ts) uses. The module is CommonJS (`export =`).
 */
declare module 'raw-socket' {
  import { EventEmitter } from 'node:events';

  namespace raw {
    interface SocketOptions {
      /** IP protocol number: 6 = TCP (receives a copy of inbound TCP), 255 = IPPROTO_RAW (send only, header included). */
      protocol?: number;
      addressFamily?: number;
      bufferSize?: number;
    }

    interface Socket extends EventEmitter {
      /** Queue `buffer[offset, offset+length)` for `address`; `afterCb(err, bytes)` when sent. */
      send(buffer: Buffer, offset: number, length: number, address: string,
        beforeCb: (() => void) | null, afterCb: (error: Error | null, bytes: number) => void): this;
      send(buffer: Buffer, offset: number, length: number, address: string,
        afterCb: (error: Error | null, bytes: number) => void): this;
      /** `buffer` is reused for the next message: copy or decode synchronously. */
      on(event: 'message', listener: (buffer: Buffer, source: string) => void): this;
      on(event: 'error', listener: (error: Error) => void): this;
      on(event: 'close', listener: () => void): this;
      setOption(level: number, option: number, value: number | Buffer, length?: number): void;
      close(): this;
    }

    const AddressFamily: { readonly IPv4: number; readonly IPv6: number };
    const SocketLevel: { readonly IPPROTO_IP: number; readonly IPPROTO_IPV6: number; readonly SOL_SOCKET: number };
    const SocketOption: { readonly IP_HDRINCL: number; readonly IPV6_HDRINCL?: number; readonly [name: string]: number | undefined };

    function createSocket(options?: SocketOptions): Socket;
  }

  export = raw;
}

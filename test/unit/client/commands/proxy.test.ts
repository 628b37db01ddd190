/**
 * The proxy's relay (splice): bytes both ways until either side ends; a refused connection is
 * PROXY_CONNECT (exit 7). Uses a loopback TCP server; no knock involved.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { PassThrough } from 'node:stream';
import { splice } from '../../../../client/commands/proxy.js';
import { exitCodeFor } from '../../../../client/commands/exit-codes.js';
import { isTumblerError } from '../../../../shared/errors.js';

function listen(onConn: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  return new Promise((res) => {
    const server = createServer(onConn!);
    server.listen(0, '127.0.0.1', () => res({ server, port: (server.address() as AddressInfo).port }));
  });
}

const collect = (s: PassThrough): { text: () => string } => {
  let acc = '';
  s.on('data', (d: Buffer) => (acc += d.toString()));
  return { text: () => acc };
};

describe('proxy relay', () => {
  test('relays both ways; ends when the client side ends and the server closes', async () => {
    const { server, port } = await listen((s) => { s.write('hello\n'); s.on('data', (d) => s.write(d)); });
    try {
      const input = new PassThrough();
      const output = new PassThrough();
      const got = collect(output);
      const done = splice('127.0.0.1', port, input, output);
      input.end('ping\n');
      await done;
      assert.equal(got.text(), 'hello\nping\n');
    } finally {
      server.close();
    }
  });

  test('ends when the server closes first, while input stays open', async () => {
    const { server, port } = await listen((s) => s.end('bye\n'));
    try {
      const input = new PassThrough();
      const output = new PassThrough();
      const got = collect(output);
      await splice('127.0.0.1', port, input, output);
      assert.equal(got.text(), 'bye\n');
    } finally {
      server.close();
    }
  });

  test('a refused connection is PROXY_CONNECT, exit 7', async () => {
    const { server, port } = await listen(() => {});
    await new Promise<void>((r) => server.close(() => r()));
    await assert.rejects(splice('127.0.0.1', port, new PassThrough(), new PassThrough()),
      (e) => isTumblerError(e, 'PROXY_CONNECT') && exitCodeFor('PROXY_CONNECT') === 7);
  });
});

// An honest worker for the monitor supervisor test: the real MonitorClient over fd 3, against the
// real monitor. It tries requests out of phase (refused by the client itself, never sent), says
// hello, reconciles a keep list longer than one frame, then opens (one refused, one duplicate,
// twenty at once) and closes, and writes each outcome's code to the file named by argv.
import { writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { MonitorClient } from '../../../server/worker/monitor-client.js';

const out = process.argv[2]!;
const mc = new MonitorClient(new Socket({ fd: 3, readable: true, writable: true }));
const g = (port: number) => ({ family: 4 as const, address: '198.51.100.2', port, service: 'ssh', ttl: 30 });
const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'OK';
  } catch (e) {
    return (e as { code?: string }).code ?? 'ERROR';
  }
};
const result: Record<string, unknown> = {};
result.openBeforeHello = await codeOf(mc.open(g(50001)));
await mc.hello();
result.closeBeforeReconcile = await codeOf(mc.close(g(50001)));
await mc.reconcile(Array.from({ length: 100 }, (_, i) => ({ family: 4 as const, address: '198.51.100.3', port: 50100 + i })));
result.helloAgain = await codeOf(mc.hello());
result.open = await codeOf(mc.open(g(50001)));
result.refused = await codeOf(mc.open(g(22)));
result.duplicate = await codeOf(mc.open(g(50001)));
result.concurrent = await Promise.all(Array.from({ length: 20 }, (_, i) => codeOf(mc.open(g(50010 + i)))));
result.close = await codeOf(mc.close(g(50001)));
writeFileSync(out, JSON.stringify(result));
setInterval(() => undefined, 1_000);

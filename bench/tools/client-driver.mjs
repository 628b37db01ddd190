// Benchmark driver, run inside the client namespace: one trial = start the guard's client command,
// then connect to the service. With --probe PORT it also starts a connect loop to PORT at once
// (fwknop, knockd: the port is known in advance); otherwise it connects to the port the command
// printed (Tumbler's --json). With --self-connects the command connects by itself (tumbler-connect:
// exit 0 means its socket is connected; stdout is a socketpair, as ssh's ProxyUseFdpass gives it);
// with --exit-only nothing connects (Node's bare start). Prints one JSON line: wall-clock ms (µs
// precision) of each step.
//   node client-driver.mjs HOST '<argv as JSON>' [--probe PORT | --self-connects | --exit-only] [--deadline-ms N]
import { spawn } from 'node:child_process';
import { connect } from 'node:net';

const [host, argvJson, ...rest] = process.argv.slice(2);
const opt = (k) => { const i = rest.indexOf(k); return i >= 0 ? rest[i + 1] : undefined; };
const probePort = opt('--probe') ? Number(opt('--probe')) : undefined;
const selfConnects = rest.includes('--self-connects') || rest.includes('--exit-only');
const deadlineMs = Number(opt('--deadline-ms') ?? 5000);
const now = () => performance.timeOrigin + performance.now();
const argv = JSON.parse(argvJson);

const sockets = new Set();
let connectedAt;
/** One connect attempt at once, then every 2 ms until one succeeds or the deadline passes (bounded: ≤ 2500 sockets). */
function probeLoop(port, until) {
  return new Promise((resolve) => {
    let tick;
    const attempt = () => {
      if (connectedAt !== undefined || now() > until) { clearInterval(tick); if (connectedAt === undefined) resolve(undefined); return; }
      const s = connect({ host, port });
      sockets.add(s);
      s.on('connect', () => { if (connectedAt === undefined) { connectedAt = now(); clearInterval(tick); resolve(connectedAt); } s.destroy(); });
      s.on('error', () => undefined);
    };
    tick = setInterval(attempt, 2);
    attempt();
  });
}

const t0 = now();
const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
let stdout = '';
child.stdout.on('data', (b) => (stdout += b));
child.stderr.on('data', () => undefined);
const probing = probePort !== undefined ? probeLoop(probePort, t0 + deadlineMs) : undefined;
const code = await new Promise((r) => child.once('exit', r));
const tExit = now();
let port = probePort;
if (probing === undefined && code === 0 && !selfConnects) port = JSON.parse(stdout).port;
const tConnected = selfConnects ? (code === 0 ? tExit : undefined)
  : code === 0 || probing ? await (probing ?? probeLoop(port, tExit + deadlineMs)) : undefined;
for (const s of sockets) s.destroy();
process.stdout.write(JSON.stringify({ t0, tExit, tConnected: tConnected ?? null, code, port: port ?? null }) + '\n');
process.exit(0);

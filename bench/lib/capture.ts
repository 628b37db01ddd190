/**
 * The server's view of one client's packets for the benchmark: tcpdump (line-buffered, immediate
 * mode, kernel timestamps) on the server namespace's eth0, filtered to the client's address.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { SERVER_ADDR, type World } from '../../test/e2e/world.js';

interface Seen { t: number; src: string; sport: number; dst: string; dport: number; kind: string }
export interface Target { readonly proto: 'tcp' | 'udp'; readonly first: number; readonly last: number }

export interface Capture {
  /**
   * ms from the first knock packet (client → server, to `target`) to the first proof of a grant
   * (server → client SYN-ACK: from the knock range for Tumbler's reply, else from sshd's port 22),
   * both inside [t0, t1] (epoch ms). undefined when either is missing.
   */
  knockToGrant(t0: number, t1: number, target: Target, replyFromKnockPort: boolean): number | undefined;
  stop(): void;
}

const LINE = /^(\d+\.\d+) IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): (?:Flags \[([^\]]+)\]|(UDP))/;

export async function captureOn(w: World, client: string): Promise<Capture> {
  const td: ChildProcess = w.spawnTracked('ip', ['netns', 'exec', w.ns.srv, 'tcpdump', '-l', '-tt', '-n', '--immediate-mode', '-i', 'eth0', `host ${client}`], { stdio: 'pipe' });
  const seen: Seen[] = [];
  createInterface({ input: td.stdout! }).on('line', (l) => {
    const m = LINE.exec(l);
    if (m) seen.push({ t: Number(m[1]) * 1000, src: m[2]!, sport: Number(m[3]), dst: m[4]!, dport: Number(m[5]), kind: m[7] ? 'udp' : m[6]! });
    if (seen.length > 200_000) seen.splice(0, 100_000); // bounded: old trials are no longer needed
  });
  await new Promise((r) => setTimeout(r, 800)); // tcpdump has attached
  return {
    knockToGrant(t0, t1, target, replyFromKnockPort) {
      const inWindow = seen.filter((s) => s.t >= t0 - 20 && s.t <= t1 + 20);
      const knock = inWindow.find((s) => s.dst === SERVER_ADDR && s.dport >= target.first && s.dport <= target.last
        && (target.proto === 'udp' ? s.kind === 'udp' : s.kind === 'S'));
      if (!knock) return undefined;
      const grant = inWindow.find((s) => s.t >= knock.t && s.src === SERVER_ADDR && s.kind === 'S.'
        && (replyFromKnockPort ? s.sport >= target.first && s.sport <= target.last : s.sport === 22));
      return grant ? grant.t - knock.t : undefined;
    },
    stop() {
      td.kill('SIGTERM');
    },
  };
}

/**
 * One access guard under benchmark (Tumbler, fwknop, knockd), set up in a fresh test/e2e World to
 * protect the same service: sshd on SERVER_ADDR:22 in the server namespace. The harness
 * (bench/compare.ts) drives every guard through this interface only.
 */
import type { World } from '../../test/e2e/world.js';

export interface KnockResult {
  /** The port the client connects to once the knock is accepted (Tumbler: the granted forward port). */
  readonly port: number;
}

export interface Guard {
  readonly name: string;
  /** Debian packages the guard needs (installed by the harness when missing). */
  readonly packages: readonly string[];
  /** Configure and start the daemon in w.ns.srv; resolves when it is ready to see knocks. */
  start(w: World): Promise<void>;
  /** argv (run as root inside w.ns.cli through `ip netns exec`) of the client command for one knock. */
  knockArgv(w: World): string[];
  /** The client command itself connects to the service (exit 0 = connected): tumbler-connect. */
  readonly connects?: boolean;
  /** After knockArgv exited 0: the port to connect to (Tumbler parses the --json output). */
  portAfter(w: World, stdout: string): number;
  /** Daemon pids in the server namespace, for CPU and RSS figures. */
  pids(w: World): number[];
  /** The wire pattern of this guard's knock, for floods aimed at it: UDP port or TCP port range. */
  readonly target: { readonly proto: 'tcp' | 'udp'; readonly first: number; readonly last: number };
  /** Remove every grant this guard holds (so trials are independent), without stopping it. */
  revokeAll(w: World): Promise<void>;
  /** Stop the daemon (by PID) and remove its firewall state. */
  stop(w: World): Promise<void>;
}

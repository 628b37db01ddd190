/**
 * The Node/V8 flags of tumblerd's two processes, sized for each one's job (issue 13 §4; the
 * README's "What Node costs"). Named once: the worker's argv (supervisor.ts), the systemd unit's
 * ExecStart (systemd/tumblerd.service, checked by a test) and the test world (test/e2e/world.ts).
 *  - Monitor: a few IPC frames and nft commands per grant; no hot JavaScript. Interpreter only
 *    (--jitless: no compiler code or code pages at all), a 1 MiB young generation, a small old one.
 *  - Worker: the hot packet path stays compiled; a 1 MiB young generation keeps a flood's
 *    short-lived garbage from growing the heap (measured: RSS growth over floods 4.7 % → 1–3 %).
 *    It keeps V8's default background threads: with one (--v8-pool-size=1, which saves the monitor
 *    ~1 MiB) its concurrent compiler and GC queue up and valid grants/s fell by about a third.
 */
export const MONITOR_NODE_FLAGS: readonly string[] = ['--jitless', '--max-semi-space-size=1', '--max-old-space-size=64', '--v8-pool-size=1'];
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * The worker's side of the monitor channel (OpenSSH's mm_* wrappers): typed requests over
 * length-framed JSON on an inherited pipe, answers correlated by id, a bounded wait for each.
 * It keeps the monitor's phase order itself — hello, then reconcile until final, then open and
 * close — and at most MAX_OUTSTANDING requests unanswered: what would get the worker killed is
 * refused here first (IPC_ORDER, IPC_BUSY). A refusal from the monitor (MONITOR_*) or a firewall
 * failure (FIREWALL_*) rejects that one request with its code.
 */
import type { Duplex } from 'node:stream';
import { TumblerError } from '../../shared/errors.js';
import { decodeResponse, encodeFrame, FrameDecoder, MAX_KEEP, MAX_OUTSTANDING, PHASE_OF, type GrantKey, type Phase, type RequestOp } from '../../shared/ipc/index.js';
import type { FirewallClient } from './knock-service.js';

const REQUEST_TIMEOUT_MS = 5_000;

type Pending = { op: RequestOp; resolve: (r: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class MonitorClient implements FirewallClient {
  private phase: Phase = 'hello';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder();

  /** `onGone`: the monitor hung up (it died or stopped); nothing can be granted any more. */
  constructor(private readonly channel: Duplex, private readonly onGone: () => void = () => undefined) {
    channel.on('data', (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = this.decoder.push(chunk);
      } catch (e) {
        this.failAll(e as Error);
        return;
      }
      for (const f of frames) this.onResponse(f);
    });
    channel.on('close', () => {
      this.failAll(new TumblerError('IPC_CLOSED', 'monitor channel closed'));
      this.onGone();
    });
    channel.on('error', (e) => this.failAll(e));
  }

  private onResponse(frame: unknown): void {
    const id = (frame as { id?: unknown } | null)?.id;
    const p = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!p) return;
    let r;
    try {
      r = decodeResponse(frame, p.op);
    } catch (e) {
      this.failAll(e as Error);
      return;
    }
    this.pending.delete(r.id);
    clearTimeout(p.timer);
    if (r.ok) p.resolve(r.result);
    else p.reject(new TumblerError(r.code, `monitor refused: ${r.code}`));
  }

  private failAll(e: Error): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(e);
      this.pending.delete(id);
    }
  }

  private request(body: Record<string, unknown> & { op: RequestOp }): Promise<unknown> {
    if (PHASE_OF[body.op] !== this.phase) return Promise.reject(new TumblerError('IPC_ORDER', `${body.op} before the ${this.phase} phase is over`));
    if (this.pending.size >= MAX_OUTSTANDING) return Promise.reject(new TumblerError('IPC_BUSY', 'too many requests waiting for the monitor'));
    // The phase moves on as the monitor's does: after hello, after the final reconcile frame.
    if (body.op === 'hello') this.phase = 'reconcile';
    if (body.op === 'reconcile' && body.final === true) this.phase = 'serve';
    const id = this.nextId++;
    if (this.nextId > 0x7fffffff) this.nextId = 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TumblerError('IPC_TIMEOUT', 'monitor did not answer'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { op: body.op, resolve, reject, timer });
      this.channel.write(encodeFrame({ ...body, id }));
    });
  }

  hello(): Promise<unknown> {
    return this.request({ op: 'hello', pid: process.pid });
  }

  async open(g: GrantKey & { service: string; ttl: number }): Promise<void> {
    await this.request({ op: 'open', family: g.family, address: g.address, port: g.port, service: g.service, ttl: g.ttl });
  }

  async close(g: GrantKey): Promise<void> {
    await this.request({ op: 'close', family: g.family, address: g.address, port: g.port });
  }

  /** Tell the monitor which kernel grants are backed by live grant rows; it removes the rest. */
  async reconcile(keep: readonly GrantKey[]): Promise<void> {
    let i = 0;
    do {
      const part = keep.slice(i, i + MAX_KEEP);
      i += MAX_KEEP;
      await this.request({ op: 'reconcile', keep: part.map(({ family, address, port }) => ({ family, address, port })), final: i >= keep.length });
    } while (i < keep.length);
  }
}

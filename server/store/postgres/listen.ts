/**
 * The push from PostgreSQL to one gateway: a dedicated connection that LISTENs on
 * tumbler_sequence (a newly issued sequence's key, hex) and tumbler_change (users, devices, close
 * requests). When the connection drops (server restart, failover) it reconnects with a bounded
 * backoff and then asks for a resync: notifications sent while it was away are lost.
 */
import pg from 'pg';
import type { StoreListener } from '../types.js';

const SEQUENCE_CHANNEL = 'tumbler_sequence';
const CHANGE_CHANNEL = 'tumbler_change';
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 2_000;
const SEQUENCE_KEY_HEX = /^[0-9a-f]{18}$/;

export class PgListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryMs = RETRY_FIRST_MS;
  private timer: NodeJS.Timeout | null = null;
  private everConnected = false;

  constructor(private readonly config: pg.ClientConfig, private readonly l: StoreListener) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const c = new pg.Client(this.config);
    this.client = c;
    let failed = false;
    const lost = (): void => {
      if (failed) return;
      failed = true;
      c.removeAllListeners('notification');
      void c.end().catch(() => undefined);
      if (this.client === c) this.client = null;
      this.retryLater();
    };
    c.on('error', lost);
    c.on('end', lost);
    c.on('notification', (n) => this.onNotification(n));
    try {
      await c.connect();
      await c.query(`LISTEN ${SEQUENCE_CHANNEL}`);
      await c.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch {
      lost();
      return;
    }
    if (failed) return;
    this.retryMs = RETRY_FIRST_MS;
    // The first connection needs no resync (the caller built its state just before); later ones do.
    if (this.everConnected) this.l.resync();
    this.everConnected = true;
  }

  private retryLater(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, this.retryMs);
    this.timer.unref();
    this.everConnected = true; // whatever happens next, something may have been missed
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private onNotification(n: pg.Notification): void {
    if (n.channel === SEQUENCE_CHANNEL && n.payload && SEQUENCE_KEY_HEX.test(n.payload)) this.l.sequenceIssued(Buffer.from(n.payload, 'hex'));
    else if (n.channel === CHANGE_CHANNEL) this.l.changed();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const c = this.client;
    this.client = null;
    if (c) {
      c.removeAllListeners('end');
      c.removeAllListeners('error');
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
    }
  }
}

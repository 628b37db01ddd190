/**
 * Structured logs: one JSON object per line on stdout (journald keeps it), or a short text line.
 * Stable event names; fields are plain values chosen by callers, who never pass key material,
 * passwords, sequences or reply bytes. Per-event rate limit under flood, with a count of drops.
 */
import type { LogFormat } from './config/types.js';
import { escapeControl } from './escape.js';
import { WindowLimiter } from './window-limiter.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  log(level: Level, event: string, fields?: Fields): void;
  /** Like log, but at most N lines per event per second; the suppressed count is reported later. */
  limited(level: Level, event: string, fields?: Fields): void;
}

export function createLogger(o: { format: LogFormat; component: string; perSec: number; write?: (line: string) => void; now?: () => number }): Logger {
  const write = o.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const now = o.now ?? Date.now;
  const limiter = new WindowLimiter(o.perSec, 1000, 1024);
  const suppressed = new Map<string, number>();

  const emit = (level: Level, event: string, fields: Fields = {}): void => {
    const ts = new Date(now()).toISOString();
    if (o.format === 'json') {
      write(JSON.stringify({ ts, level, component: o.component, event, ...fields }));
    } else {
      const kv = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${escapeControl(String(v))}`).join(' '); // values may come from the network or the database
      write(`${ts} ${level} ${o.component} ${event}${kv ? ' ' + kv : ''}`);
    }
  };

  return {
    log: emit,
    limited(level, event, fields) {
      if (limiter.hit(event, now())) {
        const dropped = suppressed.get(event);
        if (dropped) {
          suppressed.delete(event);
          emit('warn', 'log.suppressed', { of: event, count: dropped });
        }
        emit(level, event, fields);
      } else {
        suppressed.set(event, (suppressed.get(event) ?? 0) + 1);
      }
    },
  };
}

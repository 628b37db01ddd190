/** HTTP GET against the metrics exporter (TCP or a Unix socket), bounded in time, and waiting for it to listen. */
import { request } from 'node:http';

export interface Scraped {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export type Endpoint = { readonly host: string; readonly port: number } | { readonly socketPath: string };

export function scrape(at: Endpoint, o: { path?: string; method?: string; timeoutMs?: number } = {}): Promise<Scraped> {
  return new Promise((resolve, reject) => {
    const req = request({ ...at, path: o.path ?? '/metrics', method: o.method ?? 'GET', timeout: o.timeoutMs ?? 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('timeout', () => req.destroy(new Error('scrape timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The first successful scrape within `deadlineMs` (the exporter is starting). */
export async function scrapeWhenUp(at: Endpoint, deadlineMs = 20_000): Promise<Scraped> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await scrape(at);
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * `node --import tsx scrape-loop.ts HOST PORT SECONDS INTERVAL_MS` (inside a namespace): GET /metrics
 * every INTERVAL_MS for SECONDS (bounded), one JSON line per scrape: how long it took, whether it
 * answered, and the freshness series. The benchmark's own tool.
 */
import { scrape } from '../../test/helpers/scrape.js';
import { parseExposition } from '../../test/unit/server/metrics/fixtures.js';

const [host, port, seconds, interval] = process.argv.slice(2);
const until = Date.now() + Math.min(Number(seconds), 120) * 1000;
while (Date.now() < until) {
  const t0 = performance.now();
  let line: Record<string, unknown>;
  try {
    const r = await scrape({ host: host!, port: Number(port) }, { timeoutMs: 5_000 });
    const s = parseExposition(r.body).series;
    line = { ok: r.status === 200, ms: performance.now() - t0, workerAge: s.get('tumbler_worker_state_age_seconds'), workerUp: s.get('tumbler_worker_up'),
      pcapReceived: s.get('tumbler_pcap_received_total'), pcapDropped: s.get('tumbler_pcap_dropped_total') };
  } catch {
    line = { ok: false, ms: performance.now() - t0 };
  }
  process.stdout.write(JSON.stringify(line) + '\n');
  await new Promise((r) => setTimeout(r, Math.max(0, Number(interval) - (performance.now() - t0))));
}

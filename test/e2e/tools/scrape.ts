/** `node --import tsx scrape.ts HOST PORT`: one GET /metrics (run inside a namespace); prints {status, body} as JSON. */
import { scrape } from '../../helpers/scrape.js';

const [host, port] = process.argv.slice(2);
scrape({ host: host!, port: Number(port) }).then(
  (r) => process.stdout.write(JSON.stringify(r)),
  (e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  },
);

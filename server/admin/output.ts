/**
 * Output helpers for the admin commands: `--json` (one JSON document on stdout) or an aligned
 * text table. Dates are ISO 8601 UTC. Callers never pass keys, passwords or sequences. Table cells
 * come from the database: control characters are escaped (server/escape.ts); JSON escapes its own.
 */
import { escapeControl } from '../escape.js';

export type Cell = string | number | boolean | null | undefined;

export function printJson(value: unknown, write: (s: string) => unknown = (s) => process.stdout.write(s)): void {
  // JSON escapes C0 itself; DEL, C1 (a one-byte CSI on some terminals) and U+2028/9 too.
  write(JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n');
}

/** Text table: a header row, then rows; columns padded to the widest cell. "-" for empty cells. */
export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = [header.map(String), ...rows.map((r) => r.map(cellText))];
  const widths = header.map((_, i) => Math.max(...text.map((r) => (r[i] ?? '').length)));
  return text.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function printTable(header: readonly string[], rows: readonly (readonly Cell[])[], empty: string): void {
  process.stdout.write(rows.length === 0 ? `${empty}\n` : formatTable(header, rows));
}

function cellText(c: Cell): string {
  if (c === null || c === undefined || c === '') return '-';
  if (typeof c === 'boolean') return c ? 'yes' : 'no';
  return escapeControl(String(c));
}

/** Epoch ms → ISO text; null stays null (JSON) so "never" is distinguishable. */
export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * `tumblerd status` on one screen. Every string from a published document is escaped for the
 * terminal (the worker's document is untrusted; its shape already limits names to codes).
 */
import { escapeControl } from '../escape.js';
import type { RecentWindow } from '../state/worker-state.js';
import { total, type StatusReport } from './status-report.js';

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** 2d 3h, 3h 4m, 4m 5s, 5s. */
function duration(sec: number): string {
  const s = Math.max(0, Math.floor(sec));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

function window(label: string, w: RecentWindow, full: number): string {
  const span = w.seconds < full - 60 ? ` (${duration(w.seconds)} covered)` : '';
  return `${label} ${plural(w.knocks, 'knock')}, ${plural(w.grants, 'grant')}, ${plural(w.rejections, 'rejection')}${span}`;
}

export function statusText(r: StatusReport): string {
  const m = r.monitor;
  const w = r.worker;
  const e = escapeControl;
  const lines: Array<[string, string]> = [];
  lines.push(['tumblerd', `${e(m.tumblerVersion)}, running since ${iso(m.startedAtMs)} (up ${duration((r.nowMs - m.startedAtMs) / 1000)}), monitor pid ${m.pid}`]);
  const restarts = `${plural(m.worker.restarts, 'restart')} (${plural(m.worker.starts, 'start')})`;
  const workerState = {
    ok: '', stale: 'doc' in w ? `; its state is ${duration(w.ageMs / 1000)} old (busy or stuck: a packet flood can starve it)` : '',
    missing: '; no state published yet (starting?)', 'other-worker': '; not published yet by this worker (it just restarted?)',
    unusable: `; its state file is unusable (${'code' in w ? e(w.code ?? '') : ''}): not shown`,
  }[w.state];
  const started = 'doc' in w ? `, started ${iso(w.doc.startedAtMs)}` : '';
  lines.push(['worker', `${m.worker.pid !== undefined ? `pid ${m.worker.pid}` : 'not running (restarting)'}${started}, ${restarts}${workerState}`]);
  const repairs = m.firewall.repairs ? `; ${plural(m.firewall.repairs, 'repair')} since start (${Object.entries(m.firewall.drift).map(([k, n]) => `${e(k)} ${n}`).join(', ')})` : '';
  lines.push(['firewall', `${m.firewall.backend}, table ${m.firewall.intact ? 'intact' : 'DAMAGED (being repaired)'}${repairs}`]);
  const open = Object.entries(m.grants.open).filter(([, n]) => n > 0);
  lines.push(['grants', `${total(m.grants.open)} open${open.length ? ` (${open.map(([s, n]) => `${e(s)} ${n}`).join(', ')})` : ''}`]);
  if ('doc' in w) {
    lines.push(['knocks', window('last minute:', w.doc.recent.minute, 60)]);
    lines.push(['', window('last hour:', w.doc.recent.hour, 3600)]);
  } else {
    lines.push(['knocks', 'unknown (no usable worker state)']);
  }
  const incidents = total(m.incidents);
  const last = m.lastIncidents.slice(-3).reverse().map((i) => `${iso(i.atMs)} ${e(i.code)}`).join(', ');
  lines.push(['incidents', incidents === 0 ? 'none' : `${incidents} (worker killed and restarted each time); last: ${last}`]);
  const store = `${m.store.backend} ${e(m.store.location)}`;
  const health = !('doc' in w) ? 'health unknown'
    : w.doc.store.healthy ? 'healthy'
      : `FAILING since ${iso(w.doc.store.failingSinceMs ?? r.nowMs)} (${e(w.doc.store.lastFailure ?? '')}): knocks get no answer`;
  lines.push(['store', `${store}: ${health}`]);
  if ('doc' in w) lines.push(['capture', `${w.doc.pcap.received} packets received, ${w.doc.pcap.dropped} dropped`]);
  const width = Math.max(...lines.map(([k]) => k.length)) + 2;
  return lines.map(([k, v]) => `${(k ? `${k}:` : '').padEnd(width)}${v}`).join('\n') + '\n';
}

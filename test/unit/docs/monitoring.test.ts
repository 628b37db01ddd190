/**
 * The Grafana dashboard and the Prometheus alert rules in docs/monitoring/ use only metrics the
 * exporter serves (server/metrics/catalog.ts), group only by labels those metrics have, and are
 * well formed (balanced brackets; three alert rules, each with a severity and a summary).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { METRICS, type MetricDef } from '../../../server/metrics/catalog.js';

const DOCS = join(resolve(fileURLToPath(new URL('../../..', import.meta.url))), 'docs/monitoring');
const byName = new Map<string, MetricDef>(Object.values(METRICS).map((m) => [m.name, m]));

/** Problems with one PromQL expression: unknown metrics, labels a metric lacks, unbalanced brackets. */
function problems(expr: string): string[] {
  const out: string[] = [];
  const used = [...expr.matchAll(/\b(tumbler_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
  const defs: MetricDef[] = [];
  for (const name of used) {
    const def = byName.get(name) ?? byName.get(name.replace(/_(bucket|sum|count)$/, ''));
    if (!def || (def.name !== name && def.kind !== 'histogram')) out.push(`unknown metric ${name}`);
    else defs.push(def);
  }
  if (used.length === 0) out.push('uses no tumbler metric');
  const labels = new Set(['instance', 'job', ...defs.flatMap((d) => [...d.labels, ...(d.kind === 'histogram' ? ['le'] : [])])]);
  for (const m of expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)) {
    for (const l of m[1]!.split(',').map((x) => x.trim()).filter(Boolean)) if (!labels.has(l)) out.push(`label ${l} is on none of its metrics`);
  }
  for (const [open, close] of [['(', ')'], ['{', '}'], ['[', ']']]) {
    let depth = 0;
    for (const c of expr.replace(/"[^"]*"/g, '')) {
      if (c === open) depth++;
      if (c === close && --depth < 0) break;
    }
    if (depth !== 0) out.push(`unbalanced ${open}${close}`);
  }
  return out;
}

test('the Grafana dashboard: valid JSON, every query on exporter metrics and their labels', () => {
  const dash = JSON.parse(readFileSync(join(DOCS, 'tumbler-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }>; uid: string };
  assert.ok(dash.uid && dash.panels.length >= 10);
  const bad = dash.panels.flatMap((p) => p.targets.flatMap((t) => problems(t.expr).map((x) => `${p.title}: ${x} in ${t.expr}`)));
  assert.deepEqual(bad, []);
  // The things an operator alerts on have a panel.
  const all = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
  for (const m of ['tumbler_knocks_rejected_total', 'tumbler_grants_open', 'tumbler_knock_to_grant_seconds_bucket', 'tumbler_pcap_dropped_total',
    'tumbler_monitor_incidents_total', 'tumbler_firewall_drift_total', 'tumbler_store_latency_seconds_bucket', 'tumbler_worker_restarts_total']) {
    assert.ok(all.includes(m), m);
  }
});

test('the alert rules: the three the operations guide names, each on exporter metrics, with a severity and a summary', () => {
  const text = readFileSync(join(DOCS, 'tumbler-alerts.yml'), 'utf8');
  const rules = text.split(/^ {6}- alert: /m).slice(1).map((block) => {
    const name = block.split('\n', 1)[0]!.trim();
    const inline = /^ {8}expr: (?!\|)(.+)$/m.exec(block)?.[1];
    const folded = /^ {8}expr: \|\n((?: {10}.*\n)+)/m.exec(block)?.[1];
    return { name, expr: (inline ?? folded ?? '').trim(), severity: /^ {10}severity: (\w+)$/m.exec(block)?.[1], summary: /^ {10}summary: .+$/m.test(block) };
  });
  assert.deepEqual(rules.map((r) => r.name), ['TumblerNoGrantsWhileKnocksVerify', 'TumblerMonitorIncident', 'TumblerPcapDrops']);
  for (const r of rules) {
    assert.deepEqual(problems(r.expr), [], `${r.name}: ${r.expr}`);
    assert.ok(r.severity === 'critical' || r.severity === 'warning', r.name);
    assert.ok(r.summary, r.name);
  }
  assert.match(rules[0]!.expr, /tumbler_grants_failed_total/);
  assert.match(rules[0]!.expr, /tumbler_knocks_granted_total/);
  assert.match(rules[1]!.expr, /tumbler_monitor_incidents_total/);
  assert.match(rules[2]!.expr, /tumbler_pcap_dropped_total/);
});

test('the checker itself catches an unknown metric, a foreign label and a missing bracket', () => {
  assert.deepEqual(problems('rate(tumbler_nope_total[5m])'), ['unknown metric tumbler_nope_total']);
  assert.deepEqual(problems('sum by (user) (tumbler_grants_open)'), ['label user is on none of its metrics']);
  assert.deepEqual(problems('sum(rate(tumbler_frames_total[5m])'), ['unbalanced ()']);
  assert.deepEqual(problems('tumbler_frames_total_count'), ['unknown metric tumbler_frames_total_count']);
});

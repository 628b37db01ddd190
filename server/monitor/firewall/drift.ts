/**
 * Comparing our firewall state with what we installed (pure). A backend describes its state as a
 * Layout: one entry per piece (table, chain, rules of a chain, map, jump, ipset) with a print of
 * what matters about it (declaration, rule expressions; never handles or counters). Right after
 * install() it records the layout as the baseline; inspect() reads it again and compares. A
 * piece whose parent is also reported (the rules of a deleted chain, the chains of a deleted
 * table) is not reported twice. So that a deletion racing with install() cannot become part of
 * the baseline, the layout read after install() must have the Shape the config calls for: every
 * piece present and each chain with as many rules as install() wrote.
 */
import type { DriftItem, DriftKind } from './types.js';

export interface LayoutEntry {
  readonly kind: DriftKind;
  readonly name: string;
  readonly print: string;
  readonly parent?: string; // key of the entry this one lives in
}

/** Entries by key (`${kind} ${name}`). */
export type Layout = ReadonlyMap<string, LayoutEntry>;

export function layoutKey(kind: DriftKind, name: string): string {
  return `${kind} ${name}`;
}

/** Builds a Layout entry by entry. */
export class LayoutBuilder {
  private readonly entries = new Map<string, LayoutEntry>();

  /** Adds an entry; returns its key (to name it as a parent). */
  add(kind: DriftKind, name: string, print = '', parent?: string): string {
    const key = layoutKey(kind, name);
    this.entries.set(key, parent === undefined ? { kind, name, print } : { kind, name, print, parent });
    return key;
  }

  build(): Layout {
    return this.entries;
  }
}

/** What of `baseline` is missing or printed differently in `now`; pieces of a reported parent are left out. */
export function compareLayouts(baseline: Layout, now: Layout): DriftItem[] {
  const drifted = new Set<string>();
  for (const [key, b] of baseline) {
    const n = now.get(key);
    if (!n || n.print !== b.print) drifted.add(key);
  }
  const reported = (key: string | undefined): boolean => {
    for (let k = key, depth = 0; k !== undefined && depth < 8; k = baseline.get(k)?.parent, depth++) {
      if (drifted.has(k)) return true;
    }
    return false;
  };
  const out: DriftItem[] = [];
  for (const key of drifted) {
    const e = baseline.get(key)!;
    if (!reported(e.parent)) out.push({ kind: e.kind, name: e.name });
  }
  return out;
}

/** The pieces install() writes, by key, each with its number of rules (0 for pieces that are not rules). */
export type Shape = ReadonlyMap<string, number>;

/** What of `shape` the layout lacks or has with another number of rules ("rule input: 3 of 9"). */
export function shapeProblems(layout: Layout, shape: Shape): string[] {
  const out: string[] = [];
  for (const [key, rules] of shape) {
    const e = layout.get(key);
    if (!e) out.push(`${key}: missing`);
    else if (e.kind === 'rule' && (e.print === '' ? 0 : e.print.split('\n').length) !== rules) {
      out.push(`${key}: ${e.print === '' ? 0 : e.print.split('\n').length} of ${rules}`);
    }
  }
  return out;
}

/** "table inet tumbler, chain input": for log lines. */
export function describeDrift(items: readonly DriftItem[]): string {
  return items.map((i) => `${i.kind} ${i.name}`).join(', ');
}

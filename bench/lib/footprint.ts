/**
 * Resident memory of a daemon's processes (a pid and all its live descendants: tumblerd's monitor,
 * worker and long-lived nft), from /proc. Two sums: VmRSS added up over the processes (the usual
 * figure, and the one the targets use), and the memory they hold together, counting the file pages
 * they share (the node binary's, mapped by both Node processes) once: Σ RssAnon + max RssFile.
 */
import { readFileSync } from 'node:fs';
import { World } from '../../test/e2e/world.js';

export interface ProcMemory { pid: number; name: string; rssKb: number; anonKb: number; fileKb: number }
export interface Footprint { procs: ProcMemory[]; rssKb: number; togetherKb: number }

function procMemory(pid: number): ProcMemory | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
    return { pid, name: /^Name:\s+(\S+)/m.exec(s)?.[1] ?? '?', rssKb: kb('VmRSS'), anonKb: kb('RssAnon'), fileKb: kb('RssFile') + kb('RssShmem') };
  } catch {
    return null; // exited
  }
}

export function footprint(rootPids: readonly number[]): Footprint {
  const pids = [...new Set(rootPids.flatMap((p) => [p, ...World.descendants(p)]))];
  const procs = pids.map(procMemory).filter((p): p is ProcMemory => p !== null);
  const rssKb = procs.reduce((a, p) => a + p.rssKb, 0);
  const togetherKb = procs.reduce((a, p) => a + p.anonKb, 0) + Math.max(0, ...procs.filter((p) => p.name === 'node' || p.name.startsWith('tumbler')).map((p) => p.fileKb))
    + procs.filter((p) => !(p.name === 'node' || p.name.startsWith('tumbler'))).reduce((a, p) => a + p.fileKb, 0);
  return { procs, rssKb, togetherKb };
}

export const mib = (kb: number): string => `${(kb / 1024).toFixed(1)} MiB`;

/** Summary statistics for benchmark samples: median, p90, min, max (nearest-rank). */
export interface Stats { n: number; median: number; p90: number; min: number; max: number }

export function stats(xs: readonly number[]): Stats | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const rank = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { n: s.length, median: rank(0.5), p90: rank(0.9), min: s[0]!, max: s[s.length - 1]! };
}

const f = (x: number) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
export function fmtStats(s: Stats | undefined): string {
  return s ? `${f(s.median)}, p90 ${f(s.p90)}, ${f(s.min)}–${f(s.max)} (n=${s.n})` : 'n/a';
}

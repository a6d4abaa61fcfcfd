// Benchmark harness: every figure is reported as a ratio to a limit measured in the same run
// (shared/reference/performance-notes.md), one JSON line per figure.

export interface BenchResult {
  /** The measured figure. */
  value: number;
  /** The limit measured in the same run (or a fixed budget for absolute targets). */
  limit: number;
  /** What the limit is (`bare typed-array heap hold rate`). */
  limitName: string;
  /** Extra figures worth keeping next to the main one. */
  extra?: Record<string, number | string>;
}

export interface Bench {
  /** Stable dotted name (`engine.hold`). */
  name: string;
  unit: string;
  /** `higher`: value/limit should be >= target; `lower`: value/limit should be <= target. */
  better: 'higher' | 'lower';
  target: number;
  run(): BenchResult | Promise<BenchResult>;
}

export interface BenchLine {
  name: string;
  value: number;
  unit: string;
  limit: number;
  limitName: string;
  ratio: number;
  target: string;
  pass: boolean;
  extra?: Record<string, number | string>;
}

export function toLine(bench: Bench, r: BenchResult): BenchLine {
  const ratio = r.limit === 0 ? 0 : r.value / r.limit;
  const pass = bench.better === 'higher' ? ratio >= bench.target : ratio <= bench.target;
  const line: BenchLine = {
    name: bench.name,
    value: round(r.value),
    unit: bench.unit,
    limit: round(r.limit),
    limitName: r.limitName,
    ratio: round(ratio),
    target: `${bench.better === 'higher' ? '>=' : '<='} ${bench.target}`,
    pass,
  };
  if (r.extra) line.extra = r.extra;
  return line;
}

function round(x: number): number {
  return Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 1000) / 1000;
}

/** Runs `fn` repeatedly for about `minMs` wall milliseconds; returns operations per second. */
export function opsPerSec(
  fn: (iterations: number) => void,
  opsPerCall: number,
  minMs = 300,
): number {
  fn(1); // warm up
  let iterations = 1;
  for (;;) {
    const t0 = performance.now();
    fn(iterations);
    const dt = performance.now() - t0;
    if (dt >= minMs) return (iterations * opsPerCall * 1000) / dt;
    iterations = Math.max(iterations * 2, Math.ceil((iterations * minMs) / Math.max(dt, 1)));
  }
}

/** Median of several measurements (benchmarks take the median of at least 3). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function medianOf(n: number, measure: () => number): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(measure());
  return median(xs);
}

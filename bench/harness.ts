/**
 * Timing with benchmark.js and the markdown tables. Each case is warmed up,
 * then measured in `rounds` interleaved rounds (A B C A B C ...) so that load
 * from other users of this shared machine hits every case alike; the median
 * of all samples is reported, and always as a ratio against a baseline from
 * the same run.
 */
import Benchmark from 'benchmark';

// Closures must be called by reference: benchmark.js would otherwise try to
// recompile the function's source in the global scope, which loses them.
Benchmark.support.decompilation = false;

export interface Case {
  name: string;
  fn: () => void;
  /** Work per call: flop (W1) or bytes moved (W2/W2b/W3); 0 for none. */
  work?: number;
  kernels?: number | string;
  /** Name of the case this one is compared with ('vs' column). */
  vs?: string;
}

export interface Result extends Case {
  samples: number[]; // ms per call
  median: number;
  min: number;
}

export interface MeasureOptions {
  /** Samples per case over all rounds. */
  samples: number;
  rounds: number;
  warmup: number;
  /** Seconds per case per round (benchmark.js maxTime); samples wins if larger. */
  maxTime: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function measure(cases: Case[], o: MeasureOptions, log: (s: string) => void): Promise<Result[]> {
  for (const c of cases) for (let i = 0; i < o.warmup; i++) c.fn();
  const samples = new Map<Case, number[]>(cases.map((c) => [c, []]));
  for (let r = 0; r < o.rounds; r++) {
    for (const c of cases) {
      const b = new Benchmark(c.name, c.fn, {
        minSamples: Math.max(1, Math.ceil(o.samples / o.rounds)),
        maxTime: o.maxTime,
        initCount: 1,
      });
      // async: benchmark.js yields to the event loop between samples, so
      // lazygrad's FinalizationRegistry can release dropped results (it
      // cannot inside a synchronous loop; see the --memory check).
      await new Promise((resolve) => b.on('complete', resolve).run({ async: true }));
      if (b.error) throw b.error;
      samples.get(c)!.push(...b.stats.sample.map((s) => s * 1000));
    }
  }
  return cases.map((c) => {
    const s = samples.get(c)!;
    const res = { ...c, samples: s, median: median(s), min: Math.min(...s) };
    log(`  ${c.name.padEnd(44)} ${fmt(res.median)} ms (min ${fmt(res.min)}, n=${s.length})`);
    return res;
  });
}

/**
 * Times single calls of a (possibly async) function: at least `samples` calls,
 * more while under `minMs` in all (at most 20× `samples`). Yields to the event
 * loop between calls (untimed), as benchmark.js's async mode does, so that
 * finalizers of dropped results can run. Used by `--peers` on every side alike.
 */
export async function sampleCalls(fn: () => void | Promise<void>, samples: number, minMs = 0): Promise<number[]> {
  const ms: number[] = [];
  let total = 0;
  while (ms.length < samples || (total < minMs && ms.length < 20 * samples)) {
    const t = performance.now();
    await fn();
    const dt = performance.now() - t;
    ms.push(dt);
    total += dt;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return ms;
}

export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x >= 100) return x.toFixed(0);
  return x.toPrecision(digits);
}

/** A markdown table of results; `unit` names the throughput column (GFLOP/s or GB/s). */
export function table(results: Result[], unit: string): string {
  const byName = new Map(results.map((r) => [r.name, r]));
  const rows = results.map((r) => {
    const base = r.vs ? byName.get(r.vs) : undefined;
    const rate = r.work ? fmt(r.work / (r.median * 1e6)) : '';
    const ratio = base ? `${fmt(r.median / base.median)}× ${base.name}` : '';
    const rateCol = unit ? ` ${rate} |` : '';
    return `| ${r.name} | ${fmt(r.median)} | ${fmt(r.min)} | ${r.samples.length} |${rateCol} ${r.kernels ?? ''} | ${ratio} |`;
  });
  return [
    `| variant | median ms | min ms | n |${unit ? ` ${unit} |` : ''} kernels | time ratio (lower is faster) |`,
    `|---|---:|---:|---:|${unit ? '---:|' : ''}---:|---|`,
    ...rows,
  ].join('\n');
}

/** "a is X× faster than b" from medians. */
export function speedup(results: Result[], a: string, b: string): number {
  const ra = results.find((r) => r.name === a)!;
  const rb = results.find((r) => r.name === b)!;
  return rb.median / ra.median;
}

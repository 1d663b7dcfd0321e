/**
 * Measurements that need a fresh process, run by run.ts as
 * `node <tsx loader> bench/child.ts <mode>`; prints one JSON line.
 *  - first-call [split]: the first call of the jitted W4 step (trace,
 *    passes, codegen, compile and one run), then the median of later
 *    steps; with `split`, lower() is timed first on its own.
 *  - memory: RSS and heap over 2,000 jitted steps of a small MLP
 *    (784-64-10, batch 32), sampled after a forced GC (--expose-gc), both
 *    right after the synchronous steps and after yielding to the event loop.
 */
import * as lg from '../src/index';
import { median } from './harness';
import { W4_BATCH, MLP_SIZES, lgJitStep, w2b, type Params } from './workloads';

function inputs(sizes: number[], batch: number) {
  lg.manualSeed(7);
  const p = lg.nn.init.mlp(sizes);
  const x = lg.rand([batch, sizes[0]]).realize();
  const y = lg
    .rand([batch])
    .mul(sizes[sizes.length - 1])
    .cast('int32')
    .realize();
  return { p, x, y };
}

/** With `split`, times `lower()` (trace, passes, codegen, compile) on its own before the first call. */
function firstCall(split: boolean) {
  const { x, y, p: p0 } = inputs(MLP_SIZES, W4_BATCH);
  let p = p0;
  const step = lgJitStep(true);
  let lowerMs: number | undefined;
  if (split) {
    const t = performance.now();
    step.lower(p, x, y);
    lowerMs = performance.now() - t;
  }
  const t0 = performance.now();
  let [np, loss] = step(p, x, y) as [Params, lg.Tensor];
  loss.item();
  const first = performance.now() - t0;
  p = np;
  const later: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    [np, loss] = step(p, x, y) as [Params, lg.Tensor];
    loss.item();
    later.push(performance.now() - t);
    p = np;
  }
  return { first, lowerMs, steady: median(later), traces: step.traceCount };
}

async function memory(steps: number) {
  const gc = (globalThis as { gc?: () => void }).gc;
  const { x, y, p: p0 } = inputs([784, 64, 10], 32);
  let p = p0;
  const step = lgJitStep(true);
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const [np, loss] = step(p, x, y) as [Params, lg.Tensor];
      loss.item();
      p = np;
    }
  };
  const mem = () => {
    // Twice: V8 frees array buffers by sweeping after a GC, and the next GC finishes that sweep.
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    return { rssMB: m.rss / 2 ** 20, heapMB: m.heapUsed / 2 ** 20, arrayBuffersMB: m.arrayBuffers / 2 ** 20 };
  };
  // Sampled twice: straight after the synchronous steps, and after yielding
  // to the event loop (FinalizationRegistry callbacks only run then).
  const snap = async (at: number) => {
    const sync = mem();
    await new Promise((r) => setTimeout(r, 20));
    return { step: at, sync, yielded: mem() };
  };
  run(50); // warm-up: trace, compile, V8 optimisation
  const snaps = [await snap(0)];
  const t0 = performance.now();
  const every = steps / 8;
  for (let s = every; s <= steps; s += every) {
    run(every);
    snaps.push(await snap(s));
  }
  const msPerStep = (performance.now() - t0) / steps;
  // Result buffers of a synchronous loop: 100 calls of jitted W2b (4 MiB results, read and dropped).
  const x4 = lg.rand([1 << 20]).realize();
  const f = lg.jit(w2b);
  f(x4).dataSync();
  const before = await snap(0);
  for (let i = 0; i < 100; i++) f(x4).dataSync();
  const retained = await snap(100);
  return { steps, gc: !!gc, msPerStep, traces: step.traceCount, snaps, retained: [before, retained] };
}

const mode = process.argv[2];
const out =
  mode === 'first-call'
    ? firstCall(process.argv[3] === 'split')
    : mode === 'memory'
      ? await memory(Number(process.argv[3] ?? 2000))
      : null;
if (!out) throw new Error(`child.ts: unknown mode ${mode}`);
console.log(JSON.stringify(out));

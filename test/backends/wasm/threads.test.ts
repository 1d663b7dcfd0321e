/**
 * The wasm backend on several threads: results bit-identical for every
 * thread count (hand-picked kernels around every split rule, random graphs,
 * 50 jitted MLP training steps), the settings (setThreads, getThreads,
 * LAZYGRAD_THREADS, backendInfo), a kernel that fails on a worker, and a
 * process that used the pool exiting by itself.
 *
 * Every comparison runs with LAZYGRAD_THREAD_MIN_WORK's knob at 0, so even
 * small kernels are split (the default keeps them on the calling thread).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Graph, Node } from '../../../ir';
import type { DeviceBuffer } from '../../../backends/backend';
import { FunctionBuilder, ModuleBuilder } from '../../../backends/wasm/encoder';
import { ThreadPool } from '../../../backends/wasm/pool';
import { threadSettings, threadsUnavailableReason } from '../../../backends/wasm/threads';
import { WasmBackend } from '../../../backends/wasm/backend';
import { webAssembly } from '../../../backends/wasm/webassembly';
import { compileGraph, runProgram } from '../../../src/compile';
import { backendByName } from '../../../src/settings';
import * as lg from '../../../src/index';
import { randomGraph } from '../../ir/random-graph';
import { floats, ints, useBackend, wasm } from './helpers';

useBackend('wasm');

const THREADS = [1, 2, 3] as const;
const GRAPHS = 120;
let saved = { threads: 1, minParallelWork: 0 };
beforeAll(() => {
  saved = { ...threadSettings };
  threadSettings.minParallelWork = 0;
});
afterAll(() => {
  threadSettings.threads = saved.threads;
  threadSettings.minParallelWork = saved.minParallelWork;
});

/** `f`'s values (copies) with `n` threads. */
function withThreads<T>(n: number, f: () => T): T {
  const before = threadSettings.threads;
  threadSettings.threads = n;
  try {
    return f();
  } finally {
    threadSettings.threads = before;
  }
}

/** Runs `f` on 1, 2 and 3 threads and expects the same bits each time; returns the 1-thread values. */
function sameOnEveryThreadCount(what: string, f: () => ArrayLike<number>[]): ArrayLike<number>[] {
  const results = THREADS.map((n) => withThreads(n, f).map((a) => Array.from(a)));
  for (let t = 1; t < results.length; t++)
    results[t].forEach((vals, o) => {
      const first = vals.findIndex((v, i) => !Object.is(v, results[0][o][i]));
      expect(first, `${what}: output ${o}, element ${first} differs between 1 and ${THREADS[t]} threads`).toBe(-1);
    });
  return results[0];
}

const t = (shape: number[], seed: number, lo = -2, hi = 2) =>
  lg
    .tensor(
      floats(
        shape.reduce((a, b) => a * b, 1),
        seed,
        lo,
        hi,
      ),
    )
    .reshape(shape);

describe('bit-identical results for 1, 2 and 3 threads', () => {
  // Each case must have run kernels on several threads, or it compared nothing.
  let launches = 0;
  beforeEach(() => void (launches = wasm().parallelLaunches));
  afterEach(() => expect(wasm().parallelLaunches, 'no kernel ran on several threads').toBeGreaterThan(launches));

  it('1-d elementwise kernels of every length around the 4-lane split grain (1..37, 1001)', () => {
    for (const n of [...Array.from({ length: 37 }, (_, i) => i + 1), 1001]) {
      const x = t([n], n);
      sameOnEveryThreadCount(`n=${n}`, () => [x.exp().mul(x.sin()).add(x.tanh()).dataSync()]);
    }
  });

  it('row reductions whose rows run 4 lanes, column reductions, softmax, logsumexp', () => {
    for (const [r, c] of [
      [7, 33],
      [33, 7],
      [64, 100],
      [5, 1],
      [1, 64],
    ]) {
      const x = t([r, c], r * 100 + c, -8, 8);
      sameOnEveryThreadCount(`${r}x${c}`, () => [
        x.sum(1).dataSync(),
        x.max(0).dataSync(),
        x.softmax(-1).dataSync(),
        x.logsumexp(1).dataSync(),
        x.exp().sum().dataSync(),
      ]);
    }
  });

  it('register-tiled dots split by rows, by columns and by the batch axis, with tails and a fused epilogue', () => {
    for (const [b, m, k, n] of [
      [1, 64, 48, 16], // rows
      [1, 8, 40, 100], // columns (more column panels than row panels)
      [1, 13, 17, 37], // tails of 4x8 tiles both ways
      [6, 9, 12, 10], // batch axis
      [2, 40, 8, 8], // short batch: rows
    ]) {
      const x = t([b, m, k], m + k);
      const w = t([k, n], k + n);
      const bias = t([n], n);
      sameOnEveryThreadCount(`${b}x${m}x${k}x${n}`, () => [
        x.matmul(w).add(bias).relu().dataSync(),
        x.matmul(w).sum(-1).dataSync(),
      ]);
    }
  });

  it('int32 arithmetic, casts, random bits under manualSeed, iota', () => {
    const a = lg.tensor(ints(999, 3, -2e9, 2e9), { dtype: 'int32' });
    sameOnEveryThreadCount('int32', () => [
      a.mul(a).add(7).dataSync(),
      a.cast('float32').div(3).cast('int32').dataSync(),
      (() => {
        lg.manualSeed(11);
        return lg.rand([513]).dataSync();
      })(),
      lg.arange(0, 777).mul(3).dataSync(),
    ]);
  });

  it(`${GRAPHS} random graphs, fused and unfused`, () => {
    const backend = backendByName('wasm');
    const valuesFor = (n: Node, seed: number) => {
      const { dtype, shape } = n.types[0];
      const size = shape.reduce((a, d) => a * d, 1);
      if (dtype === 'f32') return floats(size, seed);
      if (dtype === 'i32') return ints(size, seed, -50, 50);
      return ints(size, seed, 0, 1);
    };
    const inputsFor = (g: Graph, seed: number) => g.params.map((p, i) => valuesFor(p, seed + i));
    for (let s = 0; s < GRAPHS; s++) {
      const g = randomGraph(0x7e4d_0000 + s);
      const inputs = inputsFor(g, s);
      for (const fusion of [true, false]) {
        const prog = compileGraph(g, { backend, fusion });
        sameOnEveryThreadCount(`graph ${s} fusion=${fusion}`, () => {
          const bufs = g.params.map((p, i) => backend.upload(p.types[0].dtype, inputs[i]));
          // Captured buffers (graph constants): values of their own, the same on every run.
          const captured: DeviceBuffer[] = [];
          const outs = runProgram(prog, g, bufs, (n) => {
            captured.push(backend.upload(n.types[0].dtype, valuesFor(n, 1000 + n.id)));
            return captured[captured.length - 1];
          });
          const res = outs.map((b) => backend.download(b));
          for (const b of [...bufs, ...outs, ...captured]) backend.free(b);
          return res;
        });
      }
    }
  });

  it('50 jitted training steps of an MLP end with the same parameters bit for bit', () => {
    const train = () => {
      lg.manualSeed(7);
      let params: unknown = lg.nn.init.mlp([64, 48, 10]);
      const opt = lg.optim.adam({ lr: 0.01 });
      let state = opt.init(params);
      const x = t([32, 64], 5);
      const labels = lg.tensor(ints(32, 9, 0, 9), { dtype: 'int32' });
      const step = lg.jit((p: unknown, s: typeof state) => {
        const [loss, g] = lg.valueAndGrad((q: unknown) =>
          lg.nn.crossEntropy(lg.nn.mlp(q as lg.nn.LinearParams[], x), labels),
        )(p);
        const [np, ns] = opt.update(g, s, p);
        return [loss, np, ns];
      });
      const losses: number[] = [];
      for (let i = 0; i < 50; i++) {
        const [loss, np, ns] = step(params, state) as [lg.Tensor, unknown, typeof state];
        losses.push(loss.item() as number);
        [params, state] = [np, ns];
      }
      expect(losses[49]).toBeLessThan(losses[0]);
      return [...(params as lg.nn.LinearParams[]).flatMap((l) => [l.w.dataSync(), l.b.dataSync()]), losses];
    };
    sameOnEveryThreadCount('MLP training', train);
  });
});

describe('settings', () => {
  it('setThreads / getThreads, and backendInfo reports the threads a kernel may use', () => {
    const before = lg.getThreads();
    try {
      lg.setThreads(3);
      expect(lg.getThreads()).toBe(3);
      expect(lg.backendInfo()).toMatchObject({ name: 'wasm', threads: 3 });
      expect(lg.backendInfo().reason).toBeUndefined();
      lg.setThreads(1);
      expect(lg.backendInfo().threads).toBe(1);
      lg.setThreads(2);
      lg.setBackend('js');
      expect(lg.backendInfo()).toMatchObject({ name: 'js', threads: 1 });
      expect(lg.backendInfo().reason).toMatch(/js backend runs kernels on the calling thread/);
    } finally {
      lg.setBackend('wasm');
      lg.setThreads(before);
    }
  });

  it.each([0, -1, 1.5, 257, NaN, '2', undefined] as unknown[])('setThreads(%s) is a clear error', (n) => {
    expect(() => lg.setThreads(n as number)).toThrow(/setThreads: expected a whole number of threads from 1 to 256/);
  });

  it('changing the thread count between calls (more threads than cores too) never hangs and keeps the bits', () => {
    const x = t([96, 80], 1);
    const w = t([80, 72], 2);
    const f = lg.jit((a: lg.Tensor, b: lg.Tensor) => a.matmul(b).tanh().sum(0));
    const ref = withThreads(1, () => Array.from(f(x, w).dataSync()));
    for (const n of [3, 2, 8, 1, 3, 2]) expect(Array.from(withThreads(n, () => f(x, w).dataSync()))).toEqual(ref);
  });

  it('without shared memory (a page that is not cross-origin isolated) a backend runs one thread and says why', () => {
    const g = globalThis as { crossOriginIsolated?: boolean };
    g.crossOriginIsolated = false;
    try {
      expect(threadsUnavailableReason()).toMatch(/not cross-origin isolated/);
      const b = new WasmBackend();
      expect(b.threads).toBe(1);
      expect(b.heap.shared).toBe(false);
      expect(b.threadsUnavailable).toMatch(/Cross-Origin-Opener-Policy/);
    } finally {
      delete g.crossOriginIsolated;
    }
    expect(threadsUnavailableReason()).toBeUndefined();
    expect(wasm().heap.shared).toBe(true);
  });
});

describe('failures on a worker', () => {
  /** A module whose kernel(lo, hi, scratch) traps where lo > 0 (on the workers only) and else stores hi at 64. */
  function trapOnWorkers(memory: { maximumPages: number }) {
    const mod = new ModuleBuilder({ initial: 1, maximum: memory.maximumPages, shared: true });
    const fb = new FunctionBuilder('trap_on_workers', ['i32', 'i32', 'i32'], []);
    mod.addFunction(fb, 'kernel');
    fb.op('local.get', 0).op('i32.const', 0).op('i32.gt_s').op('if', 'void').op('unreachable').op('end');
    fb.op('i32.const', 64).op('local.get', 1).op('i32.store');
    const WA = webAssembly()!;
    const module = new WA.Module(mod.encode());
    return { module, fn: new WA.Instance(module, { env: { memory: wasm().heap.memory } }).exports.kernel };
  }

  it('a kernel that traps on a worker is a LazygradError naming the kernel; the next launch works', () => {
    const heap = wasm().heap;
    const { module, fn } = trapOnWorkers(heap);
    const pool = new ThreadPool(heap.memory, 2);
    try {
      const id = pool.moduleId(module);
      const chunks = [
        { lo: 0, hi: 5, scratch: 0 },
        { lo: 5, hi: 9, scratch: 0 },
        { lo: 9, hi: 12, scratch: 0 },
      ];
      expect(() => pool.launch('trap_on_workers', fn as never, id, [], chunks)).toThrow(
        /wasm kernel trap_on_workers failed on a worker thread \d: RuntimeError: unreachable/,
      );
      // Only the calling thread's range: nothing traps, and the pool is still answering.
      pool.launch('trap_on_workers', fn as never, id, [], [chunks[0], { lo: 0, hi: 0, scratch: 0 }]);
      expect(new Int32Array(heap.memory.buffer, 64, 1)[0]).toBe(5);
    } finally {
      pool.terminate();
    }
    // The backend's own pool is unaffected.
    expect(Array.from(withThreads(3, () => t([40, 40], 3).exp().dataSync()).slice(0, 2))).toEqual(
      Array.from(withThreads(1, () => t([40, 40], 3).exp().dataSync()).slice(0, 2)),
    );
  });
});

describe('process lifetime', () => {
  const child = (code: string, env: Record<string, string> = {}) =>
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: process.cwd(),
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LAZYGRAD_BACKEND: 'wasm', ...env },
    });

  it('a process that ran kernels on the pool exits by itself, and LAZYGRAD_THREADS sets the count', () => {
    const out = child(
      `import * as lg from './src/index.ts';
       const a = lg.randn([300, 200]);
       const s = a.matmul(a.transpose()).sum().item();
       console.log(JSON.stringify({ threads: lg.getThreads(), info: lg.backendInfo(), finite: Number.isFinite(s) }));`,
      { LAZYGRAD_THREADS: '3' },
    );
    expect(JSON.parse(out.trim())).toEqual({
      threads: 3,
      info: expect.objectContaining({ name: 'wasm', threads: 3 }),
      finite: true,
    });
  });

  it('a bad LAZYGRAD_THREADS is a clear error at start-up', () => {
    expect(() => child(`import './src/index.ts';`, { LAZYGRAD_THREADS: 'many' })).toThrow(
      /LAZYGRAD_THREADS: expected a whole number of threads from 1 to 256, got 'many'/,
    );
  });
});

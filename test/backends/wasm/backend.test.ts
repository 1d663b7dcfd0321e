/**
 * The wasm backend as a backend (backends/wasm/backend.ts): every kernel of
 * varied programs is a module the engine validates; `backendInfo()` and the
 * mode; compiled modules are cached (other scalar values reuse them, a second
 * backend instance reuses the modules over its own memory); misuse of freed
 * buffers and trapping kernels are LazygradErrors, not crashes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CompiledPlan } from '../../../backends/backend';
import { WasmBackend, type WasmBuffer } from '../../../backends/wasm/backend';
import { generateWasmKernel } from '../../../backends/wasm/codegen';
import { hasRelaxedSimd, webAssembly } from '../../../backends/wasm/webassembly';
import { type KernelPlan, emit, graphFrom, param } from '../../../ir';
import { compileGraph } from '../../../src/compile';
import * as lg from '../../../src/index';
import { floats, mismatch, useBackend, valuesOf, wasm, withSettings } from './helpers';

useBackend('wasm');
afterEach(() => vi.restoreAllMocks());

const WA = webAssembly()!;
const f32 = (shape: number[], seed: number) =>
  lg
    .tensor(
      Array.from(
        floats(
          shape.reduce((a, b) => a * b, 1),
          seed,
        ),
      ),
      { dtype: 'float32' },
    )
    .reshape(shape);

type Params = ReturnType<typeof lg.nn.init.mlp>;

/** Varied programs (name, function, arguments): every kind of kernel the pipeline makes. */
function programs(): [string, (...a: any[]) => unknown, unknown[]][] {
  lg.manualSeed(3);
  const mlp = lg.nn.init.mlp([12, 33, 5]);
  const opt = lg.optim.adam({ lr: 1e-3 });
  const labels = lg.tensor(new Int32Array([0, 4, 2, 1, 3, 3, 0, 1]));
  const conv = { w: f32([4, 2, 3, 3], 1), b: f32([4], 2) };
  return [
    [
      'mlp adam step',
      (p: Params, s: unknown, x: lg.Tensor, y: lg.Tensor) => {
        const [loss, g] = lg.valueAndGrad((q: Params) => lg.nn.crossEntropy(lg.nn.mlp(q, x), y))(p);
        return [...opt.update(g, s as never, p), loss];
      },
      [mlp, opt.init(mlp), f32([8, 12], 3), labels],
    ],
    [
      'cnn gradient',
      (w: lg.Tensor, b: lg.Tensor, x: lg.Tensor) =>
        lg.grad((q: lg.Tensor[]) =>
          lg
            .maxPool2d(
              lg
                .conv2d(x, q[0], { padding: 1 })
                .add(q[1].reshape([1, 4, 1, 1]))
                .relu(),
              2,
            )
            .logSoftmax(1)
            .sum(),
        )([w, b]),
      [conv.w, conv.b, f32([2, 2, 9, 10], 4)],
    ],
    [
      'rows',
      (x: lg.Tensor) => [x.softmax(-1), x.logSoftmax(0), x.logsumexp(-1), x.argmax(-1), x.argmin(0), x.max()],
      [f32([7, 33], 5)],
    ],
    [
      'views, int32 and bool outputs',
      (x: lg.Tensor, i: lg.Tensor) => [
        lg
          .concat(
            [
              x,
              x.slice([null, 31], [null, null], [1, -1]).pad(
                [
                  [0, 0],
                  [1, 0],
                ],
                -1,
              ),
            ],
            0,
          )
          .gt(0),
        i.mul(65537).add(i.transpose()),
        i.oneHot(9).sum(0),
        lg.eye(33, { dtype: 'bool' }),
        lg.arange(5, 70, 2),
        x.cast('int32').cast('bool').cast('float32'),
      ],
      [f32([5, 33], 6), lg.tensor(new Int32Array(49).map((_, k) => (k * 13) % 9)).reshape([7, 7])],
    ],
    ['random', (x: lg.Tensor) => [lg.where(lg.rand([5, 33]).gt(0.5), x, 0), lg.randn([70])], [f32([5, 33], 7)]],
    [
      'dots',
      (a: lg.Tensor, b: lg.Tensor, i: lg.Tensor) => [
        a.matmul(b).tanh(),
        b.transpose().matmul(a.transpose()),
        i.matmul(i),
      ],
      [f32([65, 17], 8), f32([17, 40], 9), lg.tensor(new Int32Array(64).map((_, k) => k - 30)).reshape([8, 8])],
    ],
    [
      'degenerate shapes',
      (s: lg.Tensor, e: lg.Tensor, one: lg.Tensor) => [
        s.mul(2).add(s.exp()),
        e.add(1).sum(0),
        e.sum(1),
        one.sum(),
        one.mul(s),
      ],
      [lg.tensor(1.5), lg.zeros([0, 3]), f32([1, 1, 1], 10)],
    ],
  ];
}

/** The tensors of a pytree. */
const leaves = (v: unknown): lg.Tensor[] =>
  v instanceof lg.Tensor ? [v] : Array.isArray(v) ? v.flatMap(leaves) : Object.values(v as object).flatMap(leaves);

describe('generated modules', () => {
  it.each([true, false])('every kernel of varied programs validates, and runs like js (fusion=%s)', (fusion) => {
    const b = wasm();
    const plans: KernelPlan[] = [];
    const compile = b.compile.bind(b);
    vi.spyOn(b, 'compile').mockImplementation((plan: KernelPlan) => (plans.push(plan), compile(plan)));
    let kernels = 0;
    for (const [name, f, args] of programs()) {
      // Realise the arguments first: their eager programs are not part of the jitted one.
      withSettings('wasm', fusion, () => lg.realize(...leaves(args)));
      const start = plans.length;
      lg.manualSeed(11);
      const out = withSettings('wasm', fusion, () => lg.jit(f)(...args));
      const lowered = withSettings('wasm', fusion, () => lg.jit(f).lower(...args));
      const text = lowered.ir('kernels');
      // One source per kernel, each WebAssembly text (the kernel function, and any math functions it calls).
      const sources = text.split(/^\/\/ kernel .*$/m).slice(1);
      expect(sources.length, name).toBe(lowered.stats().kernels);
      for (const src of sources) expect(src, name).toMatch(/^\(func \$/m);
      for (const plan of plans.slice(start)) {
        for (const k of plan.kernels) {
          const gen = generateWasmKernel(k, {
            inputSizes: k.inputs.map((id) => plan.buffers[id].size),
            relaxedSimd: hasRelaxedSimd(),
          });
          expect(WA.validate(gen.bytes), `${name}: kernel ${k.name}\n${gen.text}`).toBe(true);
          expect(text, name).toContain(gen.text); // what lower() shows is what was compiled
          kernels++;
        }
      }
      // The same numbers as js.
      lg.manualSeed(11); // the same random draws as the wasm call
      const want = withSettings('js', fusion, () => leaves(lg.jit(f)(...args)).map(valuesOf));
      leaves(out).forEach((t, i) => {
        const exact = t.dtype !== 'float32';
        const m = mismatch(valuesOf(t), want[i], exact, { rel: 1e-4, abs: 1e-4 });
        expect(m, `${name} output ${i}`).toBeUndefined();
      });
    }
    expect(kernels).toBeGreaterThan(fusion ? 25 : 60);
  });

  it('a kernel with no elements (a dimension of 0) is still a valid module', () => {
    const p = param('f32', [0, 5]);
    const g = graphFrom('empty', [p], [emit('exp', [p.out])]);
    const prog = compileGraph(g, { backend: wasm(), fusion: true });
    for (const k of prog.plan.kernels)
      expect(WA.validate(generateWasmKernel(k, { inputSizes: k.inputs.map(() => 0) }).bytes)).toBe(true);
  });
});

describe('backendInfo', () => {
  it("reports name 'wasm' and mode 'simd128', or 'simd128+relaxed' where the engine validates relaxed SIMD", () => {
    const info = lg.backendInfo();
    expect(info.name).toBe('wasm');
    expect(lg.getBackend()).toBe('wasm');
    expect(info.mode).toBe(hasRelaxedSimd() ? 'simd128+relaxed' : 'simd128');
    expect(wasm().mode).toBe(info.mode);
    expect(wasm().name).toBe('wasm');
    expect(lg.backendNames()).toContain('wasm');
  });
});

describe('compile caching', () => {
  it('the same graph with other scalar values compiles nothing new and gives its own numbers', () => {
    const b = wasm();
    const x = lg.tensor([1, -2, 3.5, 0.25, 10, -0.5, 7], { dtype: 'float32' });
    const first = valuesOf(x.mul(2).add(3).tanh());
    const compiles = b.compileCount;
    const compile = vi.spyOn(b, 'compile');
    const second = valuesOf(x.mul(-0.25).add(0.125).tanh());
    const third = valuesOf(x.mul(5).add(-7).tanh());
    expect(b.compileCount).toBe(compiles);
    expect(compile).not.toHaveBeenCalled();
    const data = [1, -2, 3.5, 0.25, 10, -0.5, 7];
    for (const [got, m, c] of [
      [first, 2, 3],
      [second, -0.25, 0.125],
      [third, 5, -7],
    ] as const)
      expect(
        mismatch(
          got,
          data.map((v) => Math.tanh(v * m + c)),
          false,
          { rel: 1e-6, abs: 1e-7 },
        ),
      ).toBeUndefined();
    // A jitted function of a number argument: one trace, one compile, any number.
    const f = lg.jit((t: lg.Tensor, s: number) => t.mul(s).exp());
    expect(valuesOf(f(x, 0.5))[1]).toBeCloseTo(Math.exp(-1), 6);
    const after = b.compileCount;
    expect(valuesOf(f(x, 0.25))[1]).toBeCloseTo(Math.exp(-0.5), 6);
    expect(b.compileCount).toBe(after);
    expect(f.traceCount).toBe(1);
  });

  it('a new shape compiles new modules (the counter does move) with the right numbers', () => {
    const b = wasm();
    const before = b.compileCount;
    const y = valuesOf(lg.arange(0, 13).cast('float32').mul(3).sin());
    expect(b.compileCount).toBeGreaterThan(before);
    expect(
      mismatch(
        y,
        Array.from({ length: 13 }, (_, i) => Math.sin(3 * i)),
        false,
        { rel: 1e-6, abs: 1e-7 },
      ),
    ).toBeUndefined();
  });

  it('another WasmBackend instance reuses the compiled modules over its own memory', () => {
    const p = param('f32', [37]);
    const g = graphFrom('twice', [p], [emit('sqrt', [emit('add', [emit('mul', [p.out, p.out]), p.out])])]);
    const prog = compileGraph(g, { backend: wasm(), fusion: true });
    const other = new WasmBackend();
    const exe: CompiledPlan = other.compile(prog.plan);
    expect(other.compileCount).toBe(0); // every module came from the shared cache
    const data = Array.from({ length: 37 }, (_, i) => i * 0.5);
    const input = other.upload('f32', data);
    const [out] = other.run(
      exe,
      [input],
      [],
      prog.plan.scalars.map((s) => s.value),
    );
    const got = other.download(out);
    expect(
      mismatch(
        got,
        data.map((v) => Math.sqrt(v * v + v)),
        false,
        { rel: 1e-6, abs: 0 },
      ),
    ).toBeUndefined();
    // The main backend's memory was not touched by the other's run.
    expect(other.heap.memory).not.toBe(wasm().heap.memory);
  });
});

/**
 * BUG (src/compile.ts `compileGraph`): the program cache key starts with
 * `backend.mode`, not the backend itself, so two backends with the same mode
 * share programs, and a program's kernels run on the backend it was first
 * compiled for. A second registered WasmBackend then reads the first one's
 * memory: below, [10, 20, 30] * 2 gives [0, 0, 0].
 */
describe('two registered wasm backends', () => {
  it('each computes its own numbers', () => {
    lg.registerBackend('wasm-second', () => new WasmBackend());
    const a = valuesOf(lg.tensor([1, 2, 3], { dtype: 'float32' }).mul(2));
    const { x, y, b } = withSettings('wasm-second', true, () => {
      const x = lg.tensor([10, 20, 30], { dtype: 'float32' });
      const y = x.mul(2);
      return { x, y, b: valuesOf(y) };
    });
    // Dispose now (y's buffer is not on the backend its storage names: freeing it throws), so no
    // finalizer throws later.
    for (const t of [y, x])
      try {
        t.dispose();
      } catch {
        // the bug's consequence
      }
    expect(Array.from(a)).toEqual([2, 4, 6]);
    expect(Array.from(b)).toEqual([20, 40, 60]);
  });
});

describe('misuse is a LazygradError, not a crash', () => {
  it('a disposed tensor cannot be read, used in an op, or passed to jit', () => {
    const t = lg.tensor([1, 2, 3], { dtype: 'float32' }).mul(2).realize();
    t.dispose();
    for (const use of [
      () => t.toArray(),
      () => t.dataSync(),
      () => t.item(),
      () => t.add(1),
      () => lg.jit((x: lg.Tensor) => x.exp())(t),
    ])
      expect(use).toThrow(lg.LazygradError);
    expect(() => t.toArray()).toThrow(/disposed/);
  });

  it('a lazy result whose input was disposed fails when realised', () => {
    const x = lg.tensor([1, 2, 3], { dtype: 'float32' });
    const y = x.exp();
    x.dispose();
    expect(() => y.toArray()).toThrow(lg.LazygradError);
  });

  it('a donated tensor cannot be used after the call', () => {
    const f = lg.jit((x: lg.Tensor) => x.mul(2), { donate: 0 });
    const x = lg.tensor([1, 2, 3], { dtype: 'float32' }).add(0).realize();
    const y = f(x);
    expect(Array.from(valuesOf(y))).toEqual([2, 4, 6]);
    expect(() => x.toArray()).toThrow(lg.LazygradError);
    expect(() => f(x)).toThrow(/donated/);
  });

  it('backend level: download, run and copy of a freed buffer throw; a second free does nothing', () => {
    const b = wasm();
    const buf = b.upload('f32', [1, 2, 3, 4]);
    const blocks = b.heap.blocksInUse;
    b.free(buf);
    expect(b.heap.blocksInUse).toBe(blocks - 1);
    b.free(buf);
    expect(b.heap.blocksInUse).toBe(blocks - 1);
    expect(() => b.download(buf)).toThrow(lg.LazygradError);
    expect(() => b.download(buf)).toThrow(/used after it was freed/);
    const p = param('f32', [4]);
    const prog = compileGraph(graphFrom('neg', [p], [emit('neg', [p.out])]), { backend: b, fusion: true });
    expect(() => b.run(prog.compiled, [buf], [], [])).toThrow(lg.LazygradError);
    expect(() => b.heap.free(buf.ptr)).toThrow(lg.LazygradError);
    expect(() => b.allocate('f32', 2 ** 31)).toThrow(lg.LazygradError);
  });

  it('a kernel that traps (an address past the memory) is a LazygradError naming the kernel', () => {
    const b = wasm();
    const p = param('f32', [8]);
    const prog = compileGraph(graphFrom('trap', [p], [emit('exp', [p.out])]), { backend: b, fusion: true });
    const k = prog.plan.kernels[0];
    const out = b.allocate('f32', 8);
    const bogus: WasmBuffer = { dtype: 'f32', size: 8, ptr: 2 ** 31 - 64, freed: false };
    const run = () => b.dispatch(prog.compiled.prepared[0], k, [bogus], [out], []);
    expect(run).toThrow(lg.LazygradError);
    expect(run).toThrow(new RegExp(`wasm kernel ${k.name} failed`));
    b.free(out);
    // The backend still works afterwards.
    expect(lg.tensor([1, 2], { dtype: 'float32' }).mul(3).toArray()).toEqual([3, 6]);
  });
});

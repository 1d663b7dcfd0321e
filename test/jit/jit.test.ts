/** jit: equality with eager execution, trace caching, signatures, captures, donation, inspection. */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

type T = lg.Tensor;
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i])));
};

describe('jit equals eager', () => {
  lg.manualSeed(3);
  const a = lg.rand([5, 7]).realize();
  const b = lg.rand([7, 3]).realize();
  const fns: [string, (x: T, y: T) => T][] = [
    ['matmul + tanh', (x, y) => x.matmul(y).tanh()],
    ['softmax of product', (x, y) => x.matmul(y).softmax(-1)],
    ['reductions', (x) => x.sum(0).add(x.max(1).sum())],
    [
      'movement',
      (x) =>
        x
          .transpose()
          .slice([1, 0], [6, 5], [2, 1])
          .pad(
            [
              [1, 0],
              [0, 2],
            ],
            -1,
          )
          .exp(),
    ],
    ['grad inside jit', (x, y) => lg.grad((z: T) => z.matmul(y).sigmoid().sum())(x) as T],
    ['int32 arithmetic', (x) => x.mul(100).cast('int32').mul(3).add(7).sum(1).cast('float32')],
  ];
  for (const [name, f] of fns) {
    it(name, () => {
      const eager = f(a, b).dataSync();
      for (const fusion of [true, false]) close(lg.jit(f, { fusion })(a, b).dataSync(), eager);
    });
  }
});

describe('tracing', () => {
  it('traces once per signature, again on a new shape, not when only a number changes', () => {
    let sideEffects = 0;
    const f = lg.jit((x: T, s: number) => {
      sideEffects++;
      return x.mul(s).add(1);
    });
    const x = lg.tensor([1, 2, 3]);
    expect(f(x, 2.5).toArray()).toEqual([3.5, 6, 8.5]);
    expect(f(x, 0.5).toArray()).toEqual([1.5, 2, 2.5]);
    expect(f(lg.tensor([4, 5, 6]), 1.5).toArray()).toEqual([7, 8.5, 10]);
    expect(f.traceCount).toBe(1);
    expect(sideEffects).toBe(1);
    f(lg.tensor([1, 2]), 1.5);
    expect(f.traceCount).toBe(2);
    f(x, 2); // an integer is a different weak type: int32
    expect(f.traceCount).toBe(3);
  });
  it('a static argument is part of the signature', () => {
    const f = lg.jit((x: T, axis: number) => x.sum(axis), { static: [1] });
    const x = lg.tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(f(x, 0).toArray()).toEqual([4, 6]);
    expect(f(x, 1).toArray()).toEqual([3, 7]);
    expect(f(x, 0).toArray()).toEqual([4, 6]);
    expect(f.traceCount).toBe(2);
  });
  it('a captured tensor is a constant of the trace', () => {
    let c = lg.tensor([10, 20]);
    const f = lg.jit((x: T) => x.add(c));
    expect(f(lg.tensor([1, 2])).toArray()).toEqual([11, 22]);
    c = lg.tensor([100, 200]);
    expect(f(lg.tensor([1, 2])).toArray()).toEqual([11, 22]);
  });
  it('pytrees in and out', () => {
    const f = lg.jit((p: { w: T; b: T[] }) => ({ s: p.w.add(p.b[0]), t: [p.b[1].mul(2)] }));
    const r = f({ w: lg.tensor([1, 2]), b: [lg.tensor([3, 4]), lg.tensor(5)] }) as { s: T; t: T[] };
    expect(r.s.toArray()).toEqual([4, 6]);
    expect(r.t[0].item()).toBe(10);
  });
  it('random ops draw fresh numbers per call, reproducibly under manualSeed', () => {
    const f = lg.jit((x: T) => x.add(lg.rand([4])));
    const z = lg.zeros([4]);
    lg.manualSeed(7);
    const r1 = f(z).toArray() as number[];
    const r2 = f(z).toArray() as number[];
    expect(r1).not.toEqual(r2);
    lg.manualSeed(7);
    expect(f(z).toArray()).toEqual(r1);
    expect(f.traceCount).toBe(1);
  });
  it('reading values while tracing is an error', () => {
    const f = lg.jit((x: T) => lg.tensor([x.sum().item() as number]));
    expect(() => f(lg.tensor([1, 2]))).toThrow(lg.LazygradError);
  });
});

describe('donation', () => {
  it('donated tensors and pending tensors computed from them raise errors', () => {
    const f = lg.jit((p: T, g: T) => p.sub(g.mul(0.1)), { donate: [0] });
    const p = lg.tensor([1, 2, 3]);
    const pending = p.mul(2);
    const out = f(p, lg.tensor([1, 1, 1]));
    close(out.dataSync(), [0.9, 1.9, 2.9]);
    expect(() => p.toArray()).toThrow(/donated/);
    expect(() => p.add(1)).toThrow(/donated/);
    expect(() => pending.toArray()).toThrow(/donated/);
    expect(out.toArray()).toHaveLength(3);
  });
  it('a donated step updates parameters correctly over many calls', () => {
    const f = lg.jit((p: T) => p.mul(0.5).add(1), { donate: [0] });
    let p = lg.tensor([0, 4]);
    for (let i = 0; i < 30; i++) p = f(p);
    close(p.dataSync(), [2, 2], 1e-6);
  });
  // The js backend hands out the tensor's own buffer, so these look at memory identity.
  const bufferOf = (t: T) => (t._storage!.buf as unknown as { data: ArrayLike<number> }).data;
  it.skipIf(lg.getBackend() !== 'js')('an unread donated buffer is updated in place', () => {
    const f = lg.jit((p: T) => p.mul(2), { donate: [0] });
    const p = lg.tensor([1, 2, 3]).realize();
    const memory = bufferOf(p);
    const out = f(p);
    expect(bufferOf(out)).toBe(memory);
    expect(out.toArray()).toEqual([2, 4, 6]);
  });
  it('memory read with dataSync() is never overwritten by a donating call', () => {
    const f = lg.jit((p: T) => p.mul(2), { donate: [0] });
    const p = lg.tensor([1, 2, 3]);
    const seen = p.dataSync();
    const out = f(p);
    expect(Array.from(seen)).toEqual([1, 2, 3]);
    expect(out.toArray()).toEqual([2, 4, 6]);
    expect(() => p.dataSync()).toThrow(/donated/);
    // The fresh output is donated again, in place, on the next call.
    const memory = out.dataSync();
    const next = f(out);
    expect(Array.from(memory)).toEqual([2, 4, 6]);
    expect(next.toArray()).toEqual([4, 8, 12]);
  });
});

describe('reading values', () => {
  it.skipIf(lg.getBackend() !== 'js')(
    'dataSync() and data() return the tensor buffer itself, without a copy',
    async () => {
      const t = lg.tensor([1, 2, 3]).add(1);
      const a = t.dataSync();
      expect(t.dataSync()).toBe(a);
      expect(await t.data()).toBe(a);
      expect(Array.from(a)).toEqual([2, 3, 4]);
    },
  );
  it('results read with dataSync() stay valid across later calls', () => {
    const f = lg.jit((x: T) => x.mul(x).sum(1));
    const x = lg.tensor([
      [1, 2],
      [3, 4],
    ]);
    const first = f(x).dataSync();
    const second = f(x.add(1)).dataSync();
    expect(Array.from(first)).toEqual([5, 25]);
    expect(Array.from(second)).toEqual([13, 41]);
  });
});

describe('inspection', () => {
  const f = function scaled(x: T, w: T) {
    return x.matmul(w).mul(0.5).sum(1);
  };
  const x = lg.zeros([2, 3]);
  const w = lg.zeros([3, 4]);
  const low = lg.jit(f).lower(x, w);
  it('traced IR', () => {
    expect(low.ir('traced')).toMatchInlineSnapshot(`
      "graph scaled(%0: f32[2,3], %1: f32[3,4]) {
        %2 = dot %0, %1 {batch=[[],[]], contract=[[1],[0]]} : f32[2,4]
        %3 = const 0.5 : f32[]
        %4 = mul %2, %3 : f32[2,4]
        %5 = sum %4 {axes=[1], keepdims=false} : f32[2]
        return %5
      }"
    `);
    expect(lg.makeIR(f)(x, w)).toBe(low.ir('traced'));
  });
  // The kernel grouping is the js backend's (gpujs allows one reduction per kernel).
  it.skipIf(lg.getBackend() !== 'js')('fused stage and stats', () => {
    expect(low.ir('fused')).toMatchInlineSnapshot(`
      "kernel 0 k0_sum_mul_dot: b2 = [sum, mul, dot](b0, b1) over [2]
        b0: f32[2,3] input
        b1: f32[3,4] input
        b2: f32[2] output slot 0"
    `);
    expect(low.stats()).toEqual({ nodes: 4, kernels: 1, bytes: 8 });
  });
  it('kernel source and DOT', () => {
    expect(low.ir('kernels')).toMatch(/function k0_|\(func \$k0_/);
    expect(low.dot('optimized')).toMatch(/^digraph/);
    expect(low.dot('fused')).toMatch(/^digraph kernels/);
    expect(() => low.ir('nope' as never)).toThrow(lg.LazygradError);
  });
});

describe('training', () => {
  it('20 jit SGD steps equal the same steps without jit', () => {
    const run = (useJit: boolean) => {
      lg.manualSeed(11);
      let params = lg.nn.init.mlp([6, 8, 3]) as unknown;
      const x = lg.rand([10, 6]).realize();
      const y = lg.tensor(new Int32Array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]));
      const opt = lg.optim.sgd({ lr: 0.5, momentum: 0.9 });
      let state = opt.init(params);
      const step = (p: unknown, s: typeof state) => {
        const g = lg.grad((q: unknown) => lg.nn.crossEntropy(lg.nn.mlp(q as never, x), y))(p);
        return opt.update(g, s, p);
      };
      const f = useJit ? lg.jit(step as never) : step;
      for (let i = 0; i < 20; i++) [params, state] = (f as typeof step)(params, state) as [unknown, typeof state];
      return (params as { w: T }[])[0].w.dataSync();
    };
    close(run(true), run(false), 1e-4);
  });
});

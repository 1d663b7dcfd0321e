/**
 * The wasm backend against the js backend (the independent implementation:
 * generated JavaScript over typed arrays) on the same programs, with fusion
 * on and off, eagerly and under `jit`.
 *
 * Tolerance. int32 and bool results, and anything that is not a finite
 * float (NaN, ±Infinity), must agree bit for bit. Finite float32 results may
 * differ by rounding: js keeps f32 intermediates in float64 locals and rounds
 * once per stored value (reductions accumulate in float64), while wasm
 * computes in float32 throughout (every op rounds, reductions accumulate in
 * float32, 4 lanes at a time, so in another order), and its transcendentals
 * may be a few ulp off. Directed cases allow |wasm - js| <= 1e-4 * |js| +
 * 1e-5 * max(1, max |js|) (raised where a case says why): a chain of a few
 * roundings is ~1e-7 relative, a reduction of n terms in float32 loses up to
 * ~n * 6e-8 of the sum of |terms|, while a wrong index, lane or op is off by
 * the order of the values themselves. The random graphs use the float64
 * reference evaluator's per-element error scale instead (test/passes/
 * reference-eval.ts: |y|, the inputs' scales times the partials, (n-1) *
 * sum|terms| for sums and dots): each backend is within DEFAULT_REL * scale
 * of the reference (the fusion property test), so they must agree within
 * twice that; elements the reference marks fragile (near-ties of
 * comparisons, truncating casts, max) are skipped and counted.
 */
import { describe, expect, it } from 'vitest';
import {
  type DType,
  type Graph,
  type Node,
  type Value,
  constant,
  emit,
  graphFrom,
  param,
  printGraph,
} from '../../../ir';
import { uniform } from '../../../ir/random';
import { compileGraph, runProgram } from '../../../src/compile';
import * as lg from '../../../src/index';
import { backendByName } from '../../../src/settings';
import { DEFAULT_REL, evaluate } from '../../passes/reference-eval';
import { Draws, splitmix32 } from '../../src/reference';
import { type Tolerance, floats, ints, mismatch, valuesOf, withSettings } from './helpers';

const INNER = [1, 3, 4, 5, 7, 8, 16, 33];
const DEFAULT_TOL: Tolerance = { rel: 1e-4, abs: 1e-5 };
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

// ---------------------------------------------------------------- directed cases through the public API

type PublicDType = 'float32' | 'int32' | 'bool';

interface Input {
  readonly dtype: PublicDType;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

interface Result {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly values: ArrayLike<number>;
}

type Program = (...xs: lg.Tensor[]) => lg.Tensor | lg.Tensor[];

const f32In = (shape: number[], seed: number, lo = -1, hi = 1): Input => ({
  dtype: 'float32',
  shape,
  data: floats(
    shape.reduce((a, b) => a * b, 1),
    seed,
    lo,
    hi,
  ),
});
const i32In = (shape: number[], data: ArrayLike<number>): Input => ({ dtype: 'int32', shape, data });
const boolIn = (shape: number[], seed: number): Input => ({
  dtype: 'bool',
  shape,
  data: ints(
    shape.reduce((a, b) => a * b, 1),
    seed,
    0,
    1,
  ),
});

function run(backend: string, fusion: boolean, mode: 'eager' | 'jit', inputs: readonly Input[], f: Program): Result[] {
  return withSettings(backend, fusion, () => {
    const xs = inputs.map((x) => lg.tensor(Array.from(x.data), { dtype: x.dtype }).reshape([...x.shape]));
    const out = mode === 'jit' ? lg.jit(f)(...xs) : f(...xs);
    return (Array.isArray(out) ? out : [out]).map((t) => ({ dtype: t.dtype, shape: t.shape, values: valuesOf(t) }));
  });
}

/** Runs `f` on js (eager, each fusion setting) and on wasm (eager and jit, each fusion setting); returns the js results. */
function agree(name: string, inputs: readonly Input[], f: Program, tol: Tolerance = DEFAULT_TOL): Result[] {
  let first: Result[] | undefined;
  for (const fusion of [true, false]) {
    const want = run('js', fusion, 'eager', inputs, f);
    first ??= want;
    for (const mode of ['eager', 'jit'] as const) {
      const got = run('wasm', fusion, mode, inputs, f);
      expect(got.length).toBe(want.length);
      want.forEach((w, o) => {
        const where = `${name} (fusion=${fusion}, ${mode}) output ${o}`;
        expect(got[o].dtype, where).toBe(w.dtype);
        expect(got[o].shape, where).toEqual(w.shape);
        const scale = Math.max(1, ...Array.from(w.values, (v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
        const err = mismatch(got[o].values, w.values, w.dtype !== 'float32', { rel: tol.rel, abs: tol.abs * scale });
        expect(err, where).toBeUndefined();
      });
    }
  }
  return first!;
}

describe('wasm == js: elementwise kernels over views', () => {
  it.each(INNER)('innermost size %i: broadcast, strided, transposed, sliced, padded, concatenated, expanded', (n) => {
    const x = f32In([3, n], 10 + n);
    const y = f32In([n], 20 + n);
    const z = f32In([n, 3], 30 + n);
    const w = f32In([2, 3, n], 40 + n, -2, 2);
    agree(`broadcast n=${n}`, [x, y], (a, b) =>
      a
        .mul(b)
        .add(a.tanh())
        .sub(b.reshape([1, n]).sigmoid()),
    );
    agree(`transposed n=${n}`, [x, z], (a, b) => a.add(b.transpose()).mul(b.transpose().exp()));
    agree(`reversed and strided n=${n}`, [x, w], (a, b) => [
      a.slice([null, n - 1], [null, null], [1, -1]).mul(3),
      b.slice([1, 0, 0], [null, null, null], [-1, 2, 2]).sin(),
      b.transpose([2, 0, 1]).cos(),
    ]);
    agree(`padded n=${n}`, [x], (a) => [
      a
        .pad(
          [
            [1, 0],
            [2, 1],
          ],
          0.5,
        )
        .exp(),
      a
        .abs()
        .pad([
          [0, 2],
          [0, 3],
        ])
        .sqrt(),
    ]);
    agree(`concatenated n=${n}`, [x, z], (a, b) =>
      lg.concat([a, a.neg(), b.transpose().mul(2)], 1).add(lg.concat([a.relu(), a, a.sin()], 1).sum(0, true)),
    );
    agree(`expanded n=${n}`, [y, w], (b, c) => b.reshape([1, 1, n]).expand([2, 3, n]).maximum(c).minimum(c.mul(0.5)));
    agree(`compare and where n=${n}`, [x, y], (a, b) => [
      lg.where(a.gt(b), a, b.mul(3)),
      a.le(b),
      a.eq(a.slice([null, null], [null, null], [1, -1])),
    ]);
    agree(
      `int32 broadcast n=${n}`,
      [i32In([3, n], ints(3 * n, n, -1000, 1000)), i32In([n], ints(n, 99, -50, 50))],
      (a, b) => [
        a.mul(b).add(7).sub(a.transpose().transpose()),
        a.maximum(b).minimum(3),
        a.gt(b),
        a.abs().neg().sign(),
      ],
    );
    agree(`bool inputs n=${n}`, [boolIn([3, n], n), boolIn([n], n + 1), x], (p, q, a) => [
      p.eq(q),
      p.ne(q).cast('float32').add(a),
      lg.where(p, a, a.neg()),
      p.cast('int32').sum(1),
      lg.where(q, p, q.eq(p)),
    ]);
  });

  it('mixed unary math and pow over a vector body and a tail (n = 37)', () => {
    const x = f32In([37], 7, 0.1, 3);
    const y = f32In([37], 8, -2, 2);
    agree('math', [x, y], (a, b) => [
      a.log(),
      a.pow(b),
      b.pow(2),
      b.exp().sub(1),
      a.sqrt().div(b),
      b.square().mul(b).sign(),
      a.log().neg().exp(), // 1 / a
    ]);
  });
});

describe('wasm == js: reductions', () => {
  const shapes = [
    [3, 5, 7],
    [4, 8, 16],
    [5, 9, 17],
    [2, 33, 4],
    [8, 1, 9],
    [7, 3, 8],
    [1, 4, 31],
  ];
  const axesSets: (number | number[] | undefined)[] = [0, 1, 2, [0, 1], [1, 2], [0, 2], undefined];
  it.each(shapes.map((s) => [s.join('x'), s] as const))('%s: sum, max, min, mean along every axis set', (_, shape) => {
    const x = f32In([...shape], shape[0] * 100 + shape[2], -2, 2);
    const xi = i32In([...shape], ints(shape[0] * shape[1] * shape[2], 5, -(2 ** 30), 2 ** 30));
    for (const axes of axesSets)
      agree(`${shape} axes ${JSON.stringify(axes)}`, [x, xi], (a, b) => [
        a.sum(axes),
        a.max(axes, true),
        a.min(axes),
        a.exp().mean(axes, true),
        b.sum(axes), // wraps
        b.max(axes),
      ]);
    // A reduction read back in the same kernel (row-style) and argmax (first index of the max).
    agree(`${shape} centred`, [x], (a) => [a.sub(a.mean(-1, true)), a.argmax(-1), a.argmax(0), a.abs().sum(1).sqrt()]);
  });

  it('long rows around the 4- and 8-lane boundaries: 1..17, 31..33, 63..65', () => {
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 63, 64, 65])
      agree(`row ${n}`, [f32In([3, n], n, -1, 1)], (a) => [a.sum(1), a.max(1), a.mul(a).sum(0), a.sum()]);
  });
});

describe('wasm == js: softmax-like row kernels', () => {
  it.each([
    [5, 33],
    [7, 16],
    [3, 4],
    [9, 1],
    [4, 70],
    [33, 5],
  ])('[%i, %i]: softmax, logSoftmax, logsumexp along both axes', (m, n) => {
    const x = f32In([m, n], m * 7 + n, -6, 6);
    agree(`softmax ${m}x${n}`, [x], (a) => [
      a.softmax(-1),
      a.logSoftmax(-1),
      a.logsumexp(-1),
      a.softmax(0),
      a.logsumexp(0, true),
      a.mul(20).softmax(-1).mul(a).sum(-1),
    ]);
  });

  it('softmax of rows holding ±Infinity and NaN matches (non-finite values bit for bit)', () => {
    const data = [0, 1, Infinity, -Infinity, 2, NaN, 3, 4, -Infinity, -Infinity, -Infinity, -Infinity];
    agree('softmax special', [{ dtype: 'float32', shape: [3, 4], data }], (a) => [
      a.softmax(-1),
      a.logsumexp(-1),
      a.max(-1),
      a.relu(),
    ]);
  });
});

describe('wasm == js: matmul and dot', () => {
  const mkn = [
    [1, 1, 1],
    [1, 70, 1],
    [3, 5, 7],
    [4, 4, 4],
    [5, 8, 9],
    [8, 16, 8],
    [17, 33, 9],
    [33, 7, 70],
    [70, 70, 70],
    [2, 3, 64],
    [64, 2, 3],
    [13, 1, 29],
    [9, 65, 12],
    [16, 16, 33],
  ];
  it.each(mkn)('M=%i K=%i N=%i: plain, with bias + relu epilogue, transposed operands, int32', (m, k, n) => {
    const a = f32In([m, k], m + 3 * k, -1, 1);
    const b = f32In([k, n], n + 5 * k, -1, 1);
    const bias = f32In([n], n, -1, 1);
    // Sums of k products of values in [-1, 1]: float32 accumulation error grows with k (sqrt(k) typical).
    const tol = { rel: 1e-4, abs: 2e-6 * k };
    agree(`matmul ${m}x${k}x${n}`, [a, b, bias], (x, y, c) => [x.matmul(y), x.matmul(y).add(c).relu()], tol);
    agree(
      `transposed ${m}x${k}x${n}`,
      [a, b],
      (x, y) => [x.transpose().transpose().matmul(y.transpose().transpose()), y.transpose().matmul(x.transpose())],
      tol,
    );
    if (m * n * k <= 20000) {
      // int32 sums of products that wrap: bit for bit.
      const ai = i32In([m, k], ints(m * k, m, -100000, 100000));
      const bi = i32In([k, n], ints(k * n, n, -100000, 100000));
      agree(`int32 matmul ${m}x${k}x${n}`, [ai, bi], (x, y) => x.matmul(y));
    }
  });

  it('batched and broadcast-batched matmul, matrix-vector and vector-matrix', () => {
    const tol = { rel: 1e-4, abs: 1e-4 };
    agree('batched', [f32In([3, 5, 17], 1), f32In([3, 17, 9], 2)], (x, y) => x.matmul(y), tol);
    agree('broadcast batch', [f32In([2, 1, 4, 33], 3), f32In([3, 33, 8], 4)], (x, y) => x.matmul(y), tol);
    agree('matvec', [f32In([7, 70], 5), f32In([70], 6)], (x, v) => [x.matmul(v), v.matmul(x.transpose())], tol);
    agree('dot 1-d', [f32In([65], 7), f32In([65], 8)], (u, v) => u.matmul(v), tol);
  });

  it('register-tiled dots (both output axes >= 4): batched, fused prologue and epilogue, tails of 4x8 tiles, conv2d', () => {
    const tol = { rel: 1e-4, abs: 1e-4 };
    agree('batched tiled', [f32In([2, 12, 33], 9), f32In([2, 33, 21], 10)], (x, y) => x.matmul(y), tol);
    agree(
      'prologue and epilogue',
      [f32In([13, 40], 11), f32In([40, 19], 12), f32In([19], 13)],
      (x, y, b) => [x.tanh().matmul(y.exp()).add(b).sigmoid(), x.matmul(y.mul(2)).mul(x.matmul(y)).relu()],
      { rel: 1e-4, abs: 1e-3 },
    );
    for (const [m, k, n] of [
      [4, 9, 16],
      [5, 3, 17],
      [31, 2, 7],
      [65, 20, 65],
    ])
      agree(
        `tile ${m}x${k}x${n}`,
        [f32In([m, k], m), f32In([k, n], n)],
        (x, y) => [x.matmul(y), y.transpose().matmul(x.transpose())],
        tol,
      );
    agree(
      'epilogues: compare, permuted output, views of the operands',
      [f32In([25, 9], 16), f32In([9, 24], 17), f32In([24, 24], 18)],
      (x, y, z) => [
        x.matmul(y).gt(0),
        x.slice([0, 0], [24, 9]).matmul(y).transpose().add(z.mul(3)),
        x.slice([1, 0], [null, null], [2, 1]).matmul(y.slice([0, 3], [null, null], [1, -1])),
        x
          .pad([
            [1, 2],
            [0, 3],
          ])
          .matmul(
            y.pad(
              [
                [0, 3],
                [0, 0],
              ],
              0.5,
            ),
          ),
      ],
      tol,
    );
    // A long reduction, and more columns than one L2 column block of B.
    agree('K = 3000', [f32In([8, 3000], 19), f32In([3000, 8], 20)], (x, y) => x.matmul(y), { rel: 1e-4, abs: 2e-3 });
    agree('N = 700', [f32In([5, 300], 21), f32In([300, 700], 22)], (x, y) => x.matmul(y), { rel: 1e-4, abs: 5e-4 });
    agree(
      'conv2d and pools',
      [f32In([2, 3, 11, 9], 14), f32In([8, 3, 3, 3], 15, -0.5, 0.5)],
      (x, w) => {
        const c = lg.conv2d(x, w, { padding: 1 });
        return [c, lg.maxPool2d(c.relu(), 2), lg.avgPool2d(lg.conv2d(x, w, { stride: 2 }), 2)];
      },
      tol,
    );
  });

  it('a 2-layer MLP forward and its gradients (dots of transposed activations)', () => {
    const x = f32In([16, 12], 1);
    const w1 = f32In([12, 33], 2, -0.5, 0.5);
    const w2 = f32In([33, 5], 3, -0.5, 0.5);
    agree(
      'mlp grad',
      [x, w1, w2],
      (xs, a, b) => {
        const [loss, [ga, gb]] = lg.valueAndGrad((p: lg.Tensor[]) =>
          xs.matmul(p[0]).tanh().matmul(p[1]).logSoftmax(-1).sum().neg(),
        )([a, b]) as unknown as [lg.Tensor, lg.Tensor[]];
        return [loss, ga, gb];
      },
      { rel: 1e-4, abs: 1e-4 },
    );
  });
});

describe('wasm == js: int32 arithmetic and casts', () => {
  const EDGES = [
    0,
    1,
    -1,
    2,
    -2,
    7,
    65537,
    -65537,
    46341,
    123456789,
    -987654321,
    INT_MAX,
    INT_MIN,
    INT_MAX - 1,
    INT_MIN + 1,
  ];

  it('wrapping add, sub, mul (Math.imul), neg and abs of INT_MIN, also against hand-computed values', () => {
    const n = EDGES.length;
    const a = i32In([n, 1], EDGES);
    const b = i32In([1, n], EDGES);
    const [mul, add, sub, neg, abs, sq] = agree('int edges', [a, b], (x, y) => [
      x.mul(y),
      x.add(y),
      x.sub(y),
      x.neg(),
      x.abs(),
      x.mul(x).mul(x),
    ]);
    const want = (f: (p: number, q: number) => number) => EDGES.flatMap((p) => EDGES.map((q) => f(p, q)));
    expect(Array.from(mul.values)).toEqual(want(Math.imul));
    expect(Array.from(add.values)).toEqual(want((p, q) => (p + q) | 0));
    expect(Array.from(sub.values)).toEqual(want((p, q) => (p - q) | 0));
    expect(Array.from(neg.values)).toEqual(EDGES.map((p) => -p | 0));
    expect(Array.from(abs.values)).toEqual(EDGES.map((p) => Math.abs(p) | 0)); // abs(INT_MIN) = INT_MIN
    expect(Array.from(sq.values)).toEqual(EDGES.map((p) => Math.imul(Math.imul(p, p), p)));
  });

  it('float32 -> int32 casts truncate toward zero and wrap like `x | 0` (NaN and ±Infinity to 0)', () => {
    const F = [
      0,
      -0,
      0.9,
      -0.9,
      1.5,
      -1.5,
      2.5,
      -2.5,
      1e9,
      3e9,
      -3e9,
      2 ** 31,
      -(2 ** 31),
      2 ** 32 + 2048,
      1e20,
      -1e20,
      2 ** 63,
      -(2 ** 63),
      3.4e38,
      NaN,
      Infinity,
      -Infinity,
      1e-40,
    ];
    const data = Float32Array.from(F);
    // 33 elements: a vector body and a tail.
    const all = Float32Array.from({ length: 33 }, (_, i) => data[i % data.length]);
    const [toInt, toBool, back] = agree('casts', [{ dtype: 'float32', shape: [33], data: all }], (x) => [
      x.cast('int32'),
      x.cast('bool'),
      x.cast('int32').cast('float32'),
    ]);
    expect(Array.from(toInt.values)).toEqual(Array.from(all, (v) => v | 0));
    expect(Array.from(toBool.values)).toEqual(Array.from(all, (v) => (v !== 0 ? 1 : 0))); // NaN is true
    expect(Array.from(back.values)).toEqual(Array.from(all, (v) => Math.fround(v | 0)));
  });

  it('int32 -> float32 rounds to nearest; int32 reductions and sign/max/min over extremes', () => {
    const n = EDGES.length;
    const [f, s, mx, mn, sg] = agree('int to float', [i32In([n], EDGES)], (x) => [
      x.cast('float32'),
      x.sum(),
      x.max(),
      x.min(),
      x.sign(),
    ]);
    expect(Array.from(f.values)).toEqual(EDGES.map(Math.fround));
    expect(s.values[0]).toBe(EDGES.reduce((p, q) => (p + q) | 0, 0));
    expect(mx.values[0]).toBe(INT_MAX);
    expect(mn.values[0]).toBe(INT_MIN);
    expect(Array.from(sg.values)).toEqual(EDGES.map(Math.sign));
  });
});

// BUG (src/ops.ts `min` = -max(-x), on every backend): neg(INT_MIN) wraps to INT_MIN, so an int32
// min over values holding INT_MIN is wrong: [INT_MIN, 5].min() is 5 and argmin 1 (js and wasm agree).
describe('int32 min and argmin over INT_MIN', () => {
  it.each(['js', 'wasm'])('on %s, [INT_MIN, 5].min() is INT_MIN and argmin 0', (backend) => {
    const [mn, am] = withSettings(backend, true, () => {
      const t = lg.tensor(new Int32Array([INT_MIN, 5]));
      return [t.min().item(), t.argmin().item()];
    });
    expect(mn).toBe(INT_MIN);
    expect(am).toBe(0);
  });
});

describe('wasm == js: random, iota, arange', () => {
  it('rand and randn under manualSeed give the same bits as js (eager and inside jit), and match ir/random.ts', () => {
    for (const n of [1, 3, 4, 37]) {
      const draw = (backend: string, jitted: boolean) =>
        withSettings(backend, true, () => {
          lg.manualSeed(1234);
          if (!jitted) return [valuesOf(lg.rand([n])), valuesOf(lg.rand([2, n]))];
          const f = lg.jit((x: lg.Tensor) => [lg.rand([n]).add(x), lg.rand([2, n])]);
          const z = lg.zeros([n]);
          return (f(z) as lg.Tensor[]).map(valuesOf);
        });
      const js = draw('js', false);
      for (const jitted of [false, true]) {
        const got = draw('wasm', jitted);
        got.forEach((g, i) => expect(Array.from(g), `n=${n} jit=${jitted} draw ${i}`).toEqual(Array.from(js[i])));
      }
      // The generator's definition: (seed, counter + flat index).
      expect(Array.from(js[0])).toEqual(Array.from({ length: n }, (_, i) => uniform(1234, i)));
      expect(Array.from(js[1])).toEqual(Array.from({ length: 2 * n }, (_, i) => uniform(1234, n + i)));
    }
    // randn goes through log, sqrt and cos: float tolerance (cos near its zeros magnifies the argument's rounding).
    const normals = (backend: string) =>
      withSettings(backend, true, () => {
        lg.manualSeed(99);
        return valuesOf(lg.randn([257]));
      });
    expect(mismatch(normals('wasm'), normals('js'), false, { rel: 1e-4, abs: 1e-5 })).toBeUndefined();
  });

  it('arange, eye, oneHot and iota-based indices', () => {
    const [ai, af, e, oh] = agree('arange', [i32In([7], [0, 3, 2, -1, 5, 4, 1])], (labels) => [
      lg.arange(-5, 40, 3),
      lg.arange(-1.5, 10, 0.25),
      lg.eye(9),
      labels.oneHot(5),
    ]);
    expect(Array.from(ai.values)).toEqual(Array.from({ length: 15 }, (_, i) => -5 + 3 * i));
    expect(Array.from(af.values)).toEqual(Array.from({ length: 46 }, (_, i) => -1.5 + 0.25 * i));
    expect(Array.from(e.values)).toEqual(Array.from({ length: 81 }, (_, i) => (i % 10 === 0 ? 1 : 0)));
    expect(Array.from(oh.values)).toEqual(
      [0, 3, 2, -1, 5, 4, 1].flatMap((l) => [0, 1, 2, 3, 4].map((c) => (c === l ? 1 : 0))),
    );
  });
});

// ---------------------------------------------------------------- random IR graphs

const SEED = 0x3a5e_0001;
const GRAPHS = 160;
const TOL = 2 * DEFAULT_REL;
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

interface Entry {
  readonly v: Value;
  /** Upper bound on |value|. */
  readonly bound: number;
}

/**
 * Random graphs whose inner axes are the sizes of INNER (vector loops of 4
 * lanes with and without tails): elementwise math, broadcasts, movement,
 * reductions, rows, dots, int32 arithmetic that wraps, bool logic. Values
 * stay bounded (domains guarded, large values rescaled by powers of two).
 */
class Gen extends Draws {
  readonly params: Node[] = [];
  readonly inputs: Float64Array[] = [];
  readonly pool: Entry[] = [];
  /** Extra outputs: int32 and bool values. */
  readonly extra: Value[] = [];

  constructor(seed: number) {
    super(splitmix32(seed));
  }

  shape(): number[] {
    const inner = this.pick(INNER);
    const lead = range(this.int(0, 2)).map(() => this.int(1, 3));
    return [...lead, inner];
  }

  param(shape: readonly number[], dtype: DType = 'f32'): Entry {
    const p = param(dtype, shape);
    this.params.push(p);
    const big = this.chance(0.3);
    this.inputs.push(
      Float64Array.from(range(prod(shape)), () =>
        dtype === 'f32'
          ? Math.fround(this.r() * 4 - 2)
          : dtype === 'bool'
            ? this.int(0, 1)
            : big
              ? this.pick([INT_MIN, INT_MAX, -65537, 65537, 123456789, -987654321, 46341])
              : this.int(-9, 9),
      ),
    );
    return { v: p.out, bound: dtype === 'f32' ? 2 : 2 ** 31 };
  }

  push(v: Value, bound: number): Entry {
    let e: Entry = { v, bound };
    if (v.dtype === 'f32' && bound > 8) {
      const k = Math.ceil(Math.log2(bound / 4));
      e = { v: emit('mul', [v, constant(2 ** -k, 'f32')]), bound: bound * 2 ** -k };
    }
    this.pool.push(e);
    return e;
  }

  f32(): Entry {
    const ok = this.pool.filter((e) => e.v.dtype === 'f32');
    if (ok.length && this.chance(0.85)) return this.chance(0.6) ? ok[ok.length - 1] : this.pick(ok);
    const e = this.param(this.shape());
    this.pool.push(e);
    return e;
  }

  partner(x: Entry): Entry {
    const s = x.v.shape;
    const same = this.pool.filter((e) => e.v.dtype === 'f32' && e.v.shape.join() === s.join() && e !== x);
    const c = this.r();
    if (c < 0.35 && same.length) return this.pick(same);
    if (c < 0.5 || !s.length) return { v: constant(this.pick([0.5, -1, 1.25, 2, -0.75, 3]), 'f32'), bound: 3 };
    if (c < 0.85) {
      const p = this.param(s.map((d) => (this.chance(0.5) ? 1 : d)));
      return { v: emit('expand', [p.v], { shape: [...s] }), bound: 2 };
    }
    const axes = range(s.length).filter(() => this.chance(0.6));
    if (!axes.length) axes.push(s.length - 1);
    const op = this.pick(['max', 'sum']);
    const red = emit(op, [x.v], { axes, keepdims: true });
    return {
      v: emit('expand', [red], { shape: [...s] }),
      bound: op === 'max' ? x.bound : x.bound * prod(axes.map((a) => s[a])),
    };
  }

  unary(): void {
    const x = this.f32();
    const op = this.pick([
      'neg',
      'abs',
      'sign',
      'exp',
      'log',
      'sqrt',
      'sin',
      'cos',
      'tanh',
      'sigmoid',
      'log1p',
      'expm1',
      'floor',
      'ceil',
      'round',
    ]);
    let v = x.v;
    if (op === 'exp' || op === 'expm1') {
      if (x.bound > 3) v = emit('mul', [v, constant(2 ** -Math.ceil(Math.log2(x.bound / 3)), 'f32')]);
      this.push(emit(op, [v]), Math.exp(3));
      return;
    }
    if (op === 'log' || op === 'sqrt') v = emit('add', [emit('abs', [v]), constant(0.5, 'f32')]);
    if (op === 'log1p') v = emit('abs', [v]);
    const b = x.bound;
    const bounds: Record<string, number> = {
      neg: b,
      abs: b,
      log: Math.log(b + 0.5) + 1,
      sqrt: Math.sqrt(b + 0.5),
      log1p: Math.log1p(b),
      floor: b + 1,
      ceil: b + 1,
      round: b + 1,
    };
    this.push(emit(op, [v]), bounds[op] ?? 1);
  }

  binary(): void {
    const x = this.f32();
    const y = this.partner(x);
    const [a, b] = this.chance(0.5) || !y.v.shape.length ? [x, y] : [y, x];
    const op = this.pick(['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum']);
    if (op === 'div')
      this.push(emit('div', [a.v, emit('add', [emit('abs', [b.v]), constant(0.5, 'f32')])]), a.bound * 2);
    else if (op === 'pow') {
      const base = emit('add', [emit('abs', [a.v]), constant(0.5, 'f32')]);
      const k = Math.max(0, Math.ceil(Math.log2(b.bound / 2)));
      this.push(emit('pow', [base, k ? emit('mul', [b.v, constant(2 ** -k, 'f32')]) : b.v]), (a.bound + 0.5) ** 2 + 4);
    } else
      this.push(
        emit(op, [a.v, b.v]),
        op === 'mul'
          ? a.bound * b.bound
          : op === 'add' || op === 'sub'
            ? a.bound + b.bound
            : Math.max(a.bound, b.bound),
      );
  }

  select(): void {
    const x = this.f32();
    const y = this.partner(x);
    let c = emit(this.pick(['lt', 'le', 'gt', 'ge', 'eq', 'ne']), [x.v, y.v]);
    if (this.chance(0.3)) c = emit('not', [c]);
    if (this.chance(0.3)) c = emit(this.pick(['and', 'or']), [c, emit('gt', [x.v, constant(0, 'f32')])]);
    if (this.chance(0.2)) this.extra.push(c);
    if (this.chance(0.25)) {
      this.push(emit('cast', [c], { dtype: 'f32' }), 1);
      return;
    }
    const z = this.partner(x);
    this.push(emit('where', [c, x.v, z.v]), Math.max(x.bound, z.bound));
  }

  reduce(): void {
    const x = this.f32();
    const s = x.v.shape;
    if (!s.length) return;
    const axes = this.chance(0.3) ? [s.length - 1] : range(s.length).filter(() => this.chance(0.5));
    if (!axes.length) axes.push(0);
    const op = this.pick(['sum', 'max']);
    this.push(
      emit(op, [x.v], { axes, keepdims: this.chance(0.4) }),
      op === 'sum' ? x.bound * prod(axes.map((a) => s[a])) : x.bound,
    );
  }

  /** exp(x - max) / sum: a row softmax (row caches), or over another axis. */
  rowwise(): void {
    const x = this.f32();
    const s = x.v.shape;
    if (!s.length) return;
    const axis = this.chance(0.7) ? s.length - 1 : this.int(0, s.length - 1);
    const m = emit('expand', [emit('max', [x.v], { axes: [axis], keepdims: true })], { shape: [...s] });
    const e = emit('exp', [emit('sub', [x.v, m])]);
    const sum = emit('expand', [emit('sum', [e], { axes: [axis], keepdims: true })], { shape: [...s] });
    this.push(emit('div', [e, sum]), 1);
  }

  movement(): void {
    const x = this.f32();
    const s = x.v.shape;
    const kind = this.pick(['reshape', 'permute', 'expand', 'slice', 'pad', 'concat']);
    if (kind === 'reshape') {
      const n = prod(s);
      const d = range(n)
        .filter((i) => i > 0 && n % (i + 1) === 0)
        .map((i) => i + 1);
      const a = d.length ? this.pick(d) : 1;
      this.push(emit('reshape', [x.v], { shape: this.chance(0.5) ? [n / a, a] : [a, 1, n / a] }), x.bound);
    } else if (kind === 'permute' && s.length >= 2) {
      this.push(emit('permute', [x.v], { perm: this.shuffle(range(s.length)) }), x.bound);
    } else if (kind === 'expand' && s.length <= 2) {
      const v = emit('reshape', [x.v], { shape: [1, ...s] });
      this.push(emit('expand', [v], { shape: [this.int(2, 3), ...s] }), x.bound);
    } else if (kind === 'slice' && s.length) {
      const steps = s.map(() => this.pick([1, 1, 2, -1, -2, 3]));
      const shape = s.map((d, i) => this.int(1, Math.floor((d - 1) / Math.abs(steps[i])) + 1));
      const starts = s.map((d, i) => {
        const span = (shape[i] - 1) * Math.abs(steps[i]);
        return steps[i] > 0 ? this.int(0, d - 1 - span) : this.int(span, d - 1);
      });
      this.push(emit('slice', [x.v], { starts, steps, shape }), x.bound);
    } else if (kind === 'pad' && s.length) {
      const pads = s.map(() => [this.int(0, 2), this.int(0, 3)]);
      this.push(emit('pad', [x.v], { pads, value: this.pick([0, 0.5, -1.25]) }), Math.max(x.bound, 1.25));
    } else if (kind === 'concat' && s.length) {
      const axis = this.int(0, s.length - 1);
      const other = this.param(s.map((d, i) => (i === axis ? this.int(1, 5) : d)));
      const parts = this.chance(0.5) ? [x.v, other.v] : [other.v, x.v, x.v];
      this.push(emit('concat', parts, { axis }), Math.max(x.bound, 2));
    }
  }

  dot(): void {
    const [m, k, n] = [this.pick(INNER), this.int(1, 70), this.pick(INNER)];
    const batch = this.chance(0.25) ? [this.int(2, 3)] : [];
    const a = this.param([...batch, m, k]);
    const b = this.param([...batch, k, n]);
    const av = this.chance(0.5) ? emit('tanh', [a.v]) : a.v;
    const nb = batch.length;
    const bx = range(nb);
    let d = emit('dot', [av, b.v], { batch: [bx, bx], contract: [[nb + 1], [nb]] });
    if (this.chance(0.4)) {
      const bias = this.param([n]);
      d = emit('maximum', [
        emit('add', [
          d,
          emit('expand', [emit('reshape', [bias.v], { shape: [...batch.map(() => 1), 1, n] })], {
            shape: [...batch, m, n],
          }),
        ]),
        constant(0, 'f32'),
      ]);
    }
    this.push(d, 2 * 2 * k + 2);
  }

  integer(): void {
    const x = this.f32();
    let i: Value;
    const s = x.v.shape;
    const c = this.r();
    if (c < 0.3 && s.length) i = emit('iota', [], { shape: [...s], axis: this.int(0, s.length - 1) });
    else if (c < 0.6) i = this.param(s, 'i32').v;
    else i = emit('cast', [emit('mul', [x.v, constant(2.5, 'f32')])], { dtype: 'i32' });
    for (let k = this.int(1, 3); k > 0; k--) {
      const r = this.r();
      if (r < 0.3) i = emit('mul', [i, constant(this.pick([3, -7, 65537, 1_000_003, INT_MAX, INT_MIN]), 'i32')]);
      else if (r < 0.4) i = emit('mul', [i, i]);
      else if (r < 0.55)
        i = emit(this.pick(['add', 'sub', 'maximum', 'minimum']), [
          i,
          constant(this.pick([5, -9, 2_000_000_000, INT_MIN]), 'i32'),
        ]);
      else if (r < 0.7) i = emit(this.pick(['neg', 'abs', 'sign']), [i]);
      else if (r < 0.85 && i.shape.length) {
        const axes = range(i.shape.length).filter(() => this.chance(0.5));
        i = emit(this.pick(['sum', 'max']), [i], { axes: axes.length ? axes : [0], keepdims: this.chance(0.5) });
      } else {
        const b = emit(this.pick(['lt', 'eq', 'ge']), [i, constant(this.pick([0, 3, -2]), 'i32')]);
        this.extra.push(b);
        i = emit('where', [b, i, emit('neg', [i])]);
      }
    }
    this.extra.push(i);
    this.push(emit('cast', [i], { dtype: 'f32' }), 2 ** 31);
  }

  /**
   * gather (take / take_along_axis): per-position indices broadcast over the other axes (an
   * embedding lookup), indices of the full shape (a gather varying along the vector axis), or
   * indices computed from x (inlined into the load). int32 parameters reach past the axis, so
   * negative wrapping and clamping are compared too.
   */
  gather(): void {
    const x = this.f32();
    const s = x.v.shape;
    if (!s.length) return;
    const axis = this.int(0, s.length - 1);
    const r = this.r();
    let idx: Value;
    if (r < 0.4) {
      const m = this.pick(INNER);
      const p = this.param(
        s.map((_, i) => (i === axis ? m : 1)),
        'i32',
      );
      idx = emit('expand', [p.v], { shape: s.map((d, i) => (i === axis ? m : d)) });
    } else if (r < 0.75)
      idx = this.param(
        s.map((d, i) => (i === axis ? this.int(1, 9) : d)),
        'i32',
      ).v;
    else idx = emit('cast', [emit('mul', [x.v, constant(2.5, 'f32')])], { dtype: 'i32' });
    this.push(emit('gather', [x.v, idx], { axis }), x.bound);
  }

  bools(): void {
    const s = this.shape();
    const p = this.param(s, 'bool').v;
    const q = this.param(s, 'bool').v;
    const r = this.r();
    const b = r < 0.3 ? emit('and', [p, emit('not', [q])]) : r < 0.6 ? emit('or', [p, q]) : emit('ne', [p, q]);
    this.extra.push(b);
    this.extra.push(emit('cast', [b], { dtype: 'i32' }));
    this.push(emit('cast', [b], { dtype: 'f32' }), 1);
  }

  build(name: string): { graph: Graph; inputs: Float64Array[] } {
    const families: [() => void, number][] = [
      [() => this.unary(), 3],
      [() => this.binary(), 3],
      [() => this.select(), 1],
      [() => this.reduce(), 2],
      [() => this.rowwise(), 0.7],
      [() => this.movement(), 3],
      [() => this.dot(), 0.8],
      [() => this.integer(), 0.8],
      [() => this.bools(), 0.4],
      [() => this.gather(), 0.8],
    ];
    const total = families.reduce((a, f) => a + f[1], 0);
    for (let steps = this.int(2, 8); steps > 0; steps--) {
      let c = this.r() * total;
      (families.find((f) => (c -= f[1]) < 0) ?? families[0])[0]();
    }
    const computed = this.pool.filter((e) => e.v.node.op !== 'param');
    const outs = computed.length ? [computed[computed.length - 1].v] : [emit('exp', [this.f32().v])];
    if (this.extra.length) outs.push(this.pick(this.extra));
    return { graph: graphFrom(name, this.params, outs, false), inputs: this.inputs };
  }
}

function runGraph(backendName: string, g: Graph, inputs: readonly Float64Array[], fusion: boolean) {
  const backend = backendByName(backendName);
  const prog = compileGraph(g, { backend, fusion });
  const bufs = g.params.map((p, i) => backend.upload(p.types[0].dtype, inputs[i]));
  const outs = runProgram(prog, g, bufs, () => {
    throw new Error('no captured buffers in these graphs');
  });
  const res = outs.map((b) => Float64Array.from(backend.download(b)));
  for (const b of [...bufs, ...outs]) backend.free(b);
  return res;
}

describe('wasm == js on random graphs (inner axes of 1, 3, 4, 5, 7, 8, 16, 33)', () => {
  it(`${GRAPHS} graphs, fusion on and off`, () => {
    const failures: string[] = [];
    const ops = new Set<string>();
    let [elements, skipped, exactElements] = [0, 0, 0];
    for (let k = 0; k < GRAPHS; k++) {
      const { graph, inputs } = new Gen(SEED + k).build(`g${k}`);
      for (const nd of graph.nodes) ops.add(nd.op);
      const ref = evaluate(graph, inputs);
      for (const fusion of [true, false]) {
        const js = runGraph('js', graph, inputs, fusion);
        const wa = runGraph('wasm', graph, inputs, fusion);
        graph.outputs.forEach((o, i) => {
          for (let e = 0; e < js[i].length; e++) {
            elements++;
            const err = ref[i].err[e];
            if (err === Infinity) {
              skipped++;
              continue;
            }
            const [w, j] = [wa[i][e], js[i][e]];
            const exact = o.dtype !== 'f32' || !Number.isFinite(j);
            if (exact) exactElements++;
            const ok = exact ? Object.is(w, j) || (Number.isNaN(w) && Number.isNaN(j)) : Math.abs(w - j) <= TOL * err;
            if (!ok) {
              failures.push(
                `${graph.name} fusion=${fusion} output ${i} (${o.dtype}) element ${e}: wasm ${w}, js ${j}, allowed ${(TOL * err).toExponential(2)}\n${printGraph(graph)}`,
              );
              return;
            }
          }
        });
      }
    }
    expect(failures.slice(0, 2).join('\n\n')).toBe('');
    for (const op of [
      'dot',
      'pad',
      'concat',
      'slice',
      'permute',
      'sum',
      'max',
      'where',
      'and',
      'or',
      'not',
      'iota',
      'cast',
      'exp',
      'pow',
      'gather',
      'floor',
      'ceil',
      'round',
    ])
      expect(ops).toContain(op);
    expect(skipped).toBeLessThan(elements * 0.01);
    expect(exactElements).toBeGreaterThan(elements * 0.05);
  });
});

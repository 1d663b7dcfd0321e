/**
 * Row caches (ir/row-cache.ts): which (reduction, output) pairs may share a
 * costly value, and that kernels using them compute the right numbers with
 * the value evaluated once per element.
 */
import { describe, expect, it, vi } from 'vitest';
import { type Expr, ExprBuilder, type LoopVar, rowCaches, sym } from '../../ir';
import * as lg from '../../src/index';

const { add, mul, idxVar, loopVar } = sym;
type T = lg.Tensor;

describe('rowCaches', () => {
  // Loop variables with ids no other suite uses (they are interned by id and size).
  const v = (id: number, size: number): LoopVar => loopVar(9300 + id, size);
  /** exp(x[row, col] - m) over a rows×cols input 0, m an argument. */
  const expAt = (b: ExprBuilder, row: LoopVar, col: LoopVar, cols: number) =>
    b.op(
      'exp',
      [b.op('sub', [b.load(0, add(mul(idxVar(row), cols), idxVar(col)), 'f32'), b.arg(0, 'f32')], 'f32')],
      'f32',
    );

  it('pairs the value a row sum computes with the same value in the output loop', () => {
    const b = new ExprBuilder();
    const [i, j, k] = [v(0, 4), v(1, 8), v(2, 8)];
    const s = b.reduce('sum', [k], expAt(b, i, k, 8), 'f32');
    const out = b.op('div', [expAt(b, i, j, 8), s], 'f32');
    const caches = rowCaches([i, j], [out]);
    expect(caches).toHaveLength(1);
    expect(caches[0].reduce).toBe(s);
    expect(caches[0].stored).toBe(expAt(b, i, k, 8));
    expect(caches[0].read).toBe(expAt(b, i, j, 8));
    expect(caches[0].outVar).toBe(j);
  });

  it('refuses pairs that are not the same value of the same row', () => {
    const cases: [string, (b: ExprBuilder) => [LoopVar[], Expr]][] = [
      [
        'a transposed read',
        (b) => {
          const [i, j, k] = [v(10, 8), v(11, 8), v(12, 8)];
          return [[i, j], b.op('div', [expAt(b, j, i, 8), b.reduce('sum', [k], expAt(b, i, k, 8), 'f32')], 'f32')];
        },
      ],
      [
        'different extents',
        (b) => {
          const [i, j, k] = [v(20, 4), v(21, 6), v(22, 8)];
          return [[i, j], b.op('div', [expAt(b, i, j, 8), b.reduce('sum', [k], expAt(b, i, k, 8), 'f32')], 'f32')];
        },
      ],
      [
        'a reduction broadcast along the inner axis (column sum)',
        (b) => {
          // sum over rows k of exp(x[k, j]) read at (i, j): it depends on j, so no loop follows it.
          const [i, j, k] = [v(30, 8), v(31, 8), v(32, 8)];
          return [[i, j], b.op('div', [expAt(b, i, j, 8), b.reduce('sum', [k], expAt(b, k, j, 8), 'f32')], 'f32')];
        },
      ],
      [
        'a cheap value',
        (b) => {
          const [i, j, k] = [v(40, 4), v(41, 8), v(42, 8)];
          const at = (c: LoopVar) => b.load(0, add(mul(idxVar(i), 8), idxVar(c)), 'f32');
          return [[i, j], b.op('div', [at(j), b.reduce('sum', [k], at(k), 'f32')], 'f32')];
        },
      ],
      [
        'a reduction over two axes',
        (b) => {
          const [i, j, k, l] = [v(50, 4), v(51, 8), v(52, 2), v(53, 4)];
          const e = (p: LoopVar, q: LoopVar) =>
            b.op('exp', [b.load(0, add(mul(idxVar(i), 8), mul(idxVar(p), 4), idxVar(q)), 'f32')], 'f32');
          return [
            [i, j],
            b.op(
              'div',
              [
                b.op('exp', [b.load(0, add(mul(idxVar(i), 8), idxVar(j)), 'f32')], 'f32'),
                b.reduce('sum', [k, l], e(k, l), 'f32'),
              ],
              'f32',
            ),
          ];
        },
      ],
    ];
    for (const [what, make] of cases) {
      const [vars, out] = make(new ExprBuilder());
      expect(rowCaches(vars, [out]), what).toEqual([]);
    }
  });

  it('refuses rows longer than the cache limit', () => {
    const b = new ExprBuilder();
    const [i, j, k] = [v(60, 2), v(61, 70_000), v(62, 70_000)];
    const out = b.op('div', [expAt(b, i, j, 70_000), b.reduce('sum', [k], expAt(b, i, k, 70_000), 'f32')], 'f32');
    expect(rowCaches([i, j], [out])).toEqual([]);
  });
});

/** Row softmax in float64, the reference. */
function softmaxRef(x: ArrayLike<number>, rows: number, cols: number, transposeNumerator = false): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[r * cols + c] - m);
    for (let c = 0; c < cols; c++) out.push(Math.exp((transposeNumerator ? x[c * cols + r] : x[r * cols + c]) - m) / s);
  }
  return out;
}

describe.skipIf(lg.getBackend() !== 'js')('row-cached kernels (js)', () => {
  const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 2e-6) => {
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i])));
  };
  /** Math.exp calls while a compiled (and warmed-up) f runs once: generated kernels call it by name. */
  const expCalls = (f: (a: T) => T, x: T) => {
    const g = lg.jit(f);
    g(x).dataSync();
    const spy = vi.spyOn(Math, 'exp');
    try {
      g(x).dataSync();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  };
  lg.manualSeed(5);
  const x = lg.randn([33, 40]).mul(6).realize();

  it('a row softmax is one kernel that evaluates exp once per element, and is right', () => {
    const f = (a: T) => a.softmax(-1);
    expect(lg.jit(f).lower(x).stats().kernels).toBe(1);
    expect(expCalls(f, x)).toBe(33 * 40);
    close(lg.jit(f)(x).dataSync(), softmaxRef(x.dataSync(), 33, 40));
  });

  it('the cached value is the one of the same row and element (batched, three axes)', () => {
    const y = lg.randn([3, 5, 7]).mul(4).realize();
    const got = lg
      .jit((a: T) => a.softmax(-1))(y)
      .dataSync();
    close(got, softmaxRef(y.dataSync(), 15, 7));
  });

  it('a transposed numerator is computed, not read from the cache', () => {
    const sq = lg.randn([24, 24]).mul(3).realize();
    const f = (a: T) =>
      a
        .transpose()
        .sub(a.max(1, true))
        .exp()
        .div(a.sub(a.max(1, true)).exp().sum(1, true));
    close(lg.jit(f)(sq).dataSync(), softmaxRef(sq.dataSync(), 24, 24, true));
  });

  it('a column softmax stores exp once (no row loop follows a column reduction)', () => {
    const f = (a: T) => a.softmax(0);
    expect(lg.jit(f).lower(x).stats().kernels).toBeGreaterThan(1);
    expect(expCalls(f, x)).toBe(33 * 40);
    const xt = lg.tensor(Array.from(x.transpose().dataSync())).reshape([40, 33]);
    const ref = softmaxRef(xt.dataSync(), 40, 33);
    const got = lg.jit(f)(x).transpose().dataSync();
    close(got, ref);
  });

  it('rows longer than the cache limit are stored to memory instead', () => {
    const long = lg.randn([2, 70_000]).realize();
    expect(
      lg
        .jit((a: T) => a.softmax(-1))
        .lower(long)
        .stats().kernels,
    ).toBe(2);
    close(
      lg
        .jit((a: T) => a.softmax(-1))(long)
        .dataSync(),
      softmaxRef(long.dataSync(), 2, 70_000),
    );
  });

  it('fused and unfused agree on the softmax cross-entropy gradient (row caches in the backward pass)', () => {
    const labels = lg.tensor(
      Array.from({ length: 33 }, (_, i) => i % 40),
      { dtype: 'int32' },
    );
    const g = (a: T) => lg.grad((z: T) => lg.nn.crossEntropy(z, labels))(a) as T;
    const fused = lg.jit(g, { fusion: true })(x).dataSync();
    const unfused = lg.jit(g, { fusion: false })(x).dataSync();
    // d/dz mean cross-entropy = (softmax(z) - onehot) / rows
    const sm = softmaxRef(x.dataSync(), 33, 40);
    const ref = sm.map((p, i) => (p - (Math.floor(i / 40) % 40 === i % 40 ? 1 : 0)) / 33);
    close(fused, ref);
    close(unfused, ref);
  });
});

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as lg from '../../src/index';
import * as R from './reference';
import type { ND } from './reference';

// gpujs stores int32 in float32 textures: exact only below 2^24, no 32-bit wrap (documented limit).
const itExactInt32 = it.skipIf(lg.getBackend() === 'gpujs');

// Tolerances: float32 results against a float64 reference.
const EW: [number, number] = [1e-5, 1e-6]; // elementwise
const RED: [number, number] = [1e-4, 1e-4]; // reductions, matmul, conv

type DT = 'float32' | 'int32' | 'bool';

/** A lazygrad tensor holding an ND's values (built from nested arrays). */
function T(a: ND, dtype?: DT): lg.Tensor {
  return dtype ? lg.tensor(R.toNested(a, dtype === 'bool'), { dtype }) : lg.tensor(R.toNested(a));
}

function close(actual: unknown, expected: unknown, tol: [number, number] = EW, label = ''): void {
  R.expectClose(actual, expected, tol[0], tol[1], label);
}

const S = (s: readonly number[]) => `[${s.join(',')}]`;

// Broadcasting pairs (both directions, size-1 dims, 0-d).
const BCAST_PAIRS: [number[], number[]][] = [
  [
    [2, 3],
    [2, 3],
  ],
  [[2, 3], [3]],
  [[3], [2, 3]],
  [
    [2, 1],
    [1, 3],
  ],
  [
    [1, 3],
    [2, 1],
  ],
  [
    [4, 1, 3],
    [2, 1],
  ],
  [
    [2, 1],
    [4, 1, 3],
  ],
  [[1], [2, 3]],
  [[2, 3], [1]],
  [[], [2, 3]],
  [[2, 3], []],
  [[], []],
  [
    [2, 3, 1],
    [3, 4],
  ],
  [[1, 1, 1], [5]],
  [
    [3, 1, 2, 1],
    [1, 4, 1, 5],
  ],
];

// ============================================================ creation

describe('creation', () => {
  it('tensor(number) is a 0-d float32', () => {
    const t = lg.tensor(3.5);
    expect(t.shape).toEqual([]);
    expect(t.ndim).toBe(0);
    expect(t.size).toBe(1);
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toBe(3.5);
    expect(t.item()).toBe(3.5);
  });

  it('tensor(flat array of numbers) is float32', () => {
    const t = lg.tensor([1, 2, 3]);
    expect(t.shape).toEqual([3]);
    expect(t.ndim).toBe(1);
    expect(t.size).toBe(3);
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual([1, 2, 3]);
  });

  it('tensor(nested arrays) keeps the nesting', () => {
    const data = [
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    ];
    const t = lg.tensor(data);
    expect(t.shape).toEqual([1, 2, 3]);
    expect(t.ndim).toBe(3);
    expect(t.size).toBe(6);
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual(data);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('tensor values are rounded to float32', () => {
    const t = lg.tensor([0.1, 1 / 3, 16777217]);
    expect(t.toArray()).toEqual([Math.fround(0.1), Math.fround(1 / 3), 16777216]);
  });

  it('tensor(Float32Array) is float32 and 1-D', () => {
    const src = new Float32Array([1.5, -2, 3.25]);
    const t = lg.tensor(src);
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([3]);
    expect(t.toArray()).toEqual([1.5, -2, 3.25]);
  });

  it('tensor(Float64Array) is float32', () => {
    const t = lg.tensor(new Float64Array([0.1, 2, -3]));
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([3]);
    expect(t.toArray()).toEqual([Math.fround(0.1), 2, -3]);
  });

  it('tensor(Int32Array) is int32', () => {
    const t = lg.tensor(new Int32Array([1, -2, 2147483647]));
    expect(t.dtype).toBe('int32');
    expect(t.shape).toEqual([3]);
    expect(t.toArray()).toEqual([1, -2, 2147483647]);
  });

  it('tensor(typed array) does not alias the source', () => {
    const src = new Float32Array([1, 2, 3]);
    const t = lg.tensor(src);
    src[0] = 100;
    expect(t.toArray()).toEqual([1, 2, 3]);
  });

  it('tensor(booleans) is bool and reads back as booleans', () => {
    const t = lg.tensor([true, false, true]);
    expect(t.dtype).toBe('bool');
    expect(t.shape).toEqual([3]);
    expect(t.toArray()).toEqual([true, false, true]);
    const n = lg.tensor([[true], [false]]);
    expect(n.shape).toEqual([2, 1]);
    expect(n.toArray()).toEqual([[true], [false]]);
  });

  it('0-d bool tensor reads back as a boolean', () => {
    const t = lg.tensor(true);
    expect(t.dtype).toBe('bool');
    expect(t.shape).toEqual([]);
    expect(t.toArray()).toBe(true);
    expect(lg.tensor(false).toArray()).toBe(false);
  });

  it('tensor with an explicit dtype', () => {
    const i = lg.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'int32' },
    );
    expect(i.dtype).toBe('int32');
    expect(i.toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    const f = lg.tensor(new Int32Array([1, 2]), { dtype: 'float32' });
    expect(f.dtype).toBe('float32');
    expect(f.toArray()).toEqual([1, 2]);
  });

  it('zeros / ones / full with dtypes', () => {
    const z = lg.zeros([2, 3]);
    expect(z.dtype).toBe('float32');
    expect(z.shape).toEqual([2, 3]);
    expect(z.toArray()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    const zi = lg.zeros([2], { dtype: 'int32' });
    expect(zi.dtype).toBe('int32');
    expect(zi.toArray()).toEqual([0, 0]);
    const zb = lg.zeros([2], { dtype: 'bool' });
    expect(zb.dtype).toBe('bool');
    expect(zb.toArray()).toEqual([false, false]);

    const o = lg.ones([3, 1]);
    expect(o.dtype).toBe('float32');
    expect(o.toArray()).toEqual([[1], [1], [1]]);
    const oi = lg.ones([2], { dtype: 'int32' });
    expect(oi.dtype).toBe('int32');
    expect(oi.toArray()).toEqual([1, 1]);
    const ob = lg.ones([2], { dtype: 'bool' });
    expect(ob.dtype).toBe('bool');
    expect(ob.toArray()).toEqual([true, true]);

    const f = lg.full([2, 2], 7.5);
    expect(f.dtype).toBe('float32');
    expect(f.toArray()).toEqual([
      [7.5, 7.5],
      [7.5, 7.5],
    ]);
    const fi = lg.full([3], 7, { dtype: 'int32' });
    expect(fi.dtype).toBe('int32');
    expect(fi.toArray()).toEqual([7, 7, 7]);
    // full with an integer value is still float32 by default
    const f2 = lg.full([2], 3);
    expect(f2.dtype).toBe('float32');
    expect(f2.toArray()).toEqual([3, 3]);
  });

  it('zeros([]) is 0-d', () => {
    const z = lg.zeros([]);
    expect(z.shape).toEqual([]);
    expect(z.size).toBe(1);
    expect(z.toArray()).toBe(0);
  });

  it('arange with integer arguments is int32', () => {
    const a = lg.arange(5);
    expect(a.dtype).toBe('int32');
    expect(a.toArray()).toEqual([0, 1, 2, 3, 4]);
    const b = lg.arange(2, 6);
    expect(b.dtype).toBe('int32');
    expect(b.toArray()).toEqual([2, 3, 4, 5]);
    const c = lg.arange(5, 0, -2);
    expect(c.dtype).toBe('int32');
    expect(c.toArray()).toEqual([5, 3, 1]);
    const d = lg.arange(-3, 3, 2);
    expect(d.toArray()).toEqual([-3, -1, 1]);
  });

  it('arange with fractional arguments is float32', () => {
    const a = lg.arange(0, 1, 0.25);
    expect(a.dtype).toBe('float32');
    expect(a.toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    const b = lg.arange(0.5, 3);
    expect(b.dtype).toBe('float32');
    expect(b.toArray()).toEqual([0.5, 1.5, 2.5]);
    const c = lg.arange(1, 0, -0.5);
    expect(c.dtype).toBe('float32');
    expect(c.toArray()).toEqual([1, 0.5]);
  });

  it('eye with dtypes', () => {
    const e = lg.eye(3);
    expect(e.dtype).toBe('float32');
    expect(e.shape).toEqual([3, 3]);
    expect(e.toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    const ei = lg.eye(2, { dtype: 'int32' });
    expect(ei.dtype).toBe('int32');
    expect(ei.toArray()).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('rand is float32 uniform in [0, 1)', () => {
    const n = 10000;
    const r = lg.rand([100, 100]);
    expect(r.shape).toEqual([100, 100]);
    expect(r.dtype).toBe('float32');
    const d = Array.from(r.dataSync() as Float32Array);
    expect(d.length).toBe(n);
    let s = 0;
    let s2 = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of d) {
      s += v;
      s2 += v * v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.01);
    expect(new Set(d).size).toBeGreaterThan(n * 0.95); // not constant / repeating
    // both halves of the range are populated
    expect(d.filter((v) => v < 0.1).length).toBeGreaterThan(800);
    expect(d.filter((v) => v > 0.9).length).toBeGreaterThan(800);
  });

  it('randn is float32 with mean ~0 and std ~1', () => {
    const n = 10000;
    const r = lg.randn([n]);
    expect(r.shape).toEqual([n]);
    expect(r.dtype).toBe('float32');
    const d = Array.from(r.dataSync() as Float32Array);
    let s = 0;
    let s2 = 0;
    for (const v of d) {
      expect(Number.isFinite(v)).toBe(true);
      s += v;
      s2 += v * v;
    }
    const mean = s / n;
    const std = Math.sqrt(s2 / n - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(std - 1)).toBeLessThan(0.05);
    const neg = d.filter((v) => v < 0).length;
    expect(Math.abs(neg / n - 0.5)).toBeLessThan(0.03);
    const within1 = d.filter((v) => Math.abs(v) < 1).length / n;
    expect(Math.abs(within1 - 0.6827)).toBeLessThan(0.03);
  });

  it('manualSeed makes rand and randn reproducible', () => {
    lg.manualSeed(123);
    const a = Array.from(lg.rand([64]).dataSync());
    const b = Array.from(lg.randn([3, 5]).dataSync());
    lg.manualSeed(123);
    const a2 = Array.from(lg.rand([64]).dataSync());
    const b2 = Array.from(lg.randn([3, 5]).dataSync());
    expect(a2).toEqual(a);
    expect(b2).toEqual(b);
    // successive draws differ
    const a3 = Array.from(lg.rand([64]).dataSync());
    expect(a3).not.toEqual(a);
    // another seed differs
    lg.manualSeed(124);
    const a4 = Array.from(lg.rand([64]).dataSync());
    expect(a4).not.toEqual(a);
  });

  it('manualSeed reproducibility does not depend on when values are read', () => {
    lg.manualSeed(7);
    const x = lg.rand([10]);
    const y = lg.rand([10]);
    const yv = Array.from(y.dataSync()); // read the second draw first
    const xv = Array.from(x.dataSync());
    lg.manualSeed(7);
    const x2 = Array.from(lg.rand([10]).dataSync());
    const y2 = Array.from(lg.rand([10]).dataSync());
    expect(x2).toEqual(xv);
    expect(y2).toEqual(yv);
    expect(xv).not.toEqual(yv);
  });
});

// ============================================================ realisation

describe('realisation', () => {
  it('dataSync returns a typed array of the right type', () => {
    const f = lg.tensor([
      [1, 2],
      [3, 4],
    ]);
    const fd = f.dataSync();
    expect(fd).toBeInstanceOf(Float32Array);
    expect(Array.from(fd)).toEqual([1, 2, 3, 4]);
    const i = lg.tensor(new Int32Array([5, -6]));
    const id = i.dataSync();
    expect(id).toBeInstanceOf(Int32Array);
    expect(Array.from(id)).toEqual([5, -6]);
    const b = lg.tensor([true, false]);
    const bd = b.dataSync();
    expect(ArrayBuffer.isView(bd)).toBe(true);
    expect(Array.from(bd as ArrayLike<number>, Number)).toEqual([1, 0]);
  });

  it('data() resolves to the same values as dataSync()', async () => {
    const x = lg
      .tensor([
        [1, 2, 3],
        [4, 5, 6],
      ])
      .mul(2)
      .add(1);
    const p = x.data();
    expect(p).toBeInstanceOf(Promise);
    const d = await p;
    expect(Array.from(d as ArrayLike<number>)).toEqual([3, 5, 7, 9, 11, 13]);
    expect(Array.from(x.dataSync())).toEqual([3, 5, 7, 9, 11, 13]);
  });

  it('item() returns a number for one-element tensors of any rank', () => {
    expect(lg.tensor(2.5).item()).toBe(2.5);
    expect(lg.tensor([4]).item()).toBe(4);
    expect(lg.tensor([[[-1.5]]]).item()).toBe(-1.5);
    expect(lg.tensor([1, 2, 3]).sum().item()).toBe(6);
    expect(lg.tensor(new Int32Array([7])).item()).toBe(7);
  });

  it('item() of a bool tensor is a boolean', () => {
    expect(lg.tensor([1, 2]).lt(2).sum().item()).toBe(1);
    expect(lg.tensor(true).item()).toBe(true);
    expect(lg.tensor(3).gt(4).item()).toBe(false);
  });

  it('toArray of 0-d results is a plain number', () => {
    const s = lg
      .tensor([
        [1, 2],
        [3, 4],
      ])
      .sum();
    expect(s.shape).toEqual([]);
    const v = s.toArray();
    expect(typeof v).toBe('number');
    expect(v).toBe(10);
  });

  it('toArray of computed bool results gives booleans', () => {
    const c = lg
      .tensor([
        [1, 5],
        [3, 2],
      ])
      .gt(2);
    expect(c.dtype).toBe('bool');
    expect(c.toArray()).toEqual([
      [false, true],
      [true, false],
    ]);
  });

  it('toArray of size-1 dims keeps nesting', () => {
    expect(lg.zeros([1, 1, 2]).toArray()).toEqual([[[0, 0]]]);
    expect(lg.ones([2, 1]).toArray()).toEqual([[1], [1]]);
  });

  it('reading values does not change the tensor', () => {
    const x = lg.tensor([1, 2, 3]);
    const y = x.add(1);
    expect(y.toArray()).toEqual([2, 3, 4]);
    expect(x.toArray()).toEqual([1, 2, 3]);
    expect(y.toArray()).toEqual([2, 3, 4]);
  });
});

// ============================================================ elementwise

type BinName = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
const BIN: Record<BinName, (a: ND | number, b: ND | number) => ND> = {
  add: R.add,
  sub: R.sub,
  mul: R.mul,
  div: R.div,
  pow: R.pow,
  maximum: R.maximum,
  minimum: R.minimum,
};
type CmpName = 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne';
const CMP: Record<CmpName, (a: ND | number, b: ND | number) => ND> = {
  lt: R.lt,
  le: R.le,
  gt: R.gt,
  ge: R.ge,
  eq: R.eq,
  ne: R.ne,
};

function operandsFor(op: string, rng: R.Rng, sa: number[], sb: number[]): [ND, ND] {
  if (op === 'pow') return [R.randND(rng, sa, 0.5, 2), R.randND(rng, sb, -2, 2)];
  if (op === 'div') {
    const b = R.map(R.randND(rng, sb, -1, 1), (v) => Math.fround((v < 0 ? -0.5 : 0.5) + v));
    return [R.randND(rng, sa, -2, 2), b];
  }
  return [R.randND(rng, sa, -2, 2), R.randND(rng, sb, -2, 2)];
}

describe('binary elementwise ops with broadcasting', () => {
  const rng = R.mulberry32(1);
  for (const op of Object.keys(BIN) as BinName[]) {
    for (const [sa, sb] of BCAST_PAIRS) {
      it(`${op} ${S(sa)} ${S(sb)}`, () => {
        const [a, b] = operandsFor(op, rng, sa, sb);
        const out = (T(a) as any)[op](T(b)) as lg.Tensor;
        const ref = BIN[op](a, b);
        expect(out.shape).toEqual(ref.shape);
        expect(out.dtype).toBe('float32');
        close(out, R.f32(ref), EW, op);
      });
    }
    it(`${op} with a JS number`, () => {
      const [a] = operandsFor(op, rng, [2, 3], [1]);
      const num = op === 'pow' ? 1.5 : op === 'div' ? -0.75 : 0.3;
      const out = (T(a) as any)[op](num) as lg.Tensor;
      expect(out.dtype).toBe('float32');
      expect(out.shape).toEqual([2, 3]);
      close(out, BIN[op](a, Math.fround(num)), EW, op);
    });
    it(`${op} with a 0-d tensor on the left`, () => {
      const [a, b] = operandsFor(op, rng, [], [3, 2]);
      const out = (T(a) as any)[op](T(b)) as lg.Tensor;
      close(out, BIN[op](a, b), EW, op);
    });
  }

  for (const op of Object.keys(CMP) as CmpName[]) {
    for (const [sa, sb] of BCAST_PAIRS) {
      it(`${op} ${S(sa)} ${S(sb)} gives bool`, () => {
        // small discrete values so that ties occur
        const a = R.map(R.randIntND(rng, sa, -2, 3), (v) => v / 2);
        const b = R.map(R.randIntND(rng, sb, -2, 3), (v) => v / 2);
        const out = (T(a) as any)[op](T(b)) as lg.Tensor;
        expect(out.dtype).toBe('bool');
        expect(out.shape).toEqual(R.broadcastShapes(sa, sb));
        close(out, CMP[op](a, b), [0, 0], op);
        expect(out.toArray()).toEqual(R.toNested(CMP[op](a, b), true));
      });
    }
    it(`${op} with a JS number`, () => {
      const a = R.fromNested([
        [-1, 0, 0.5],
        [1, 1.5, 0],
      ]);
      const out = (T(a) as any)[op](0.5) as lg.Tensor;
      expect(out.dtype).toBe('bool');
      expect(out.toArray()).toEqual(R.toNested(CMP[op](a, 0.5), true));
    });
  }

  it('pow of a negative base with integer exponents (numpy semantics)', () => {
    const x = lg.tensor([-2, -1.5, 0, 1.5, 3]);
    close(x.pow(2), [4, 2.25, 0, 2.25, 9]);
    close(x.pow(3), [-8, -3.375, 0, 3.375, 27]);
    close(x.pow(lg.tensor([2, 3, 2, 3, 2])), [4, -3.375, 0, 3.375, 9]);
    close(lg.tensor([2, 4]).pow(0.5), [Math.SQRT2, 2]);
    close(lg.tensor([2, 4]).pow(-1), [0.5, 0.25]);
    close(lg.tensor([0, 5]).pow(0), [1, 1]);
  });

  it('div by zero gives infinities and NaN as IEEE', () => {
    close(lg.tensor([1, -1, 0]).div(0), [Infinity, -Infinity, NaN]);
  });

  it('maximum/minimum with numbers (relu-like clamp)', () => {
    const x = lg.tensor([
      [-2, 0.5],
      [3, -0.25],
    ]);
    expect(x.maximum(0).toArray()).toEqual([
      [0, 0.5],
      [3, 0],
    ]);
    expect(x.minimum(0).toArray()).toEqual([
      [-2, 0],
      [0, -0.25],
    ]);
    expect(x.maximum(0).minimum(1).toArray()).toEqual([
      [0, 0.5],
      [1, 0],
    ]);
  });

  it('inputs are not modified by operations', () => {
    const a = lg.tensor([1, 2, 3]);
    const b = lg.tensor([10, 20, 30]);
    const c = a.add(b).mul(a);
    expect(c.toArray()).toEqual([11, 44, 99]);
    expect(a.toArray()).toEqual([1, 2, 3]);
    expect(b.toArray()).toEqual([10, 20, 30]);
  });
});

describe('unary elementwise ops', () => {
  const rng = R.mulberry32(2);
  const shapes: number[][] = [[], [1], [5], [2, 3], [2, 1, 4]];
  const domain: Record<string, [number, number]> = {
    neg: [-3, 3],
    exp: [-4, 4],
    log: [0.05, 5],
    sqrt: [0, 5],
    sin: [-6, 6],
    cos: [-6, 6],
    tanh: [-4, 4],
    sigmoid: [-8, 8],
    relu: [-3, 3],
    abs: [-3, 3],
  };
  for (const op of Object.keys(R.unaryFns)) {
    for (const s of shapes) {
      it(`${op} ${S(s)}`, () => {
        const [lo, hi] = domain[op];
        const a = R.randND(rng, s, lo, hi);
        const out = (T(a) as any)[op]() as lg.Tensor;
        expect(out.shape).toEqual(s);
        expect(out.dtype).toBe('float32');
        close(out, R.map(a, R.unaryFns[op]), EW, op);
      });
    }
  }

  it('special values', () => {
    close(lg.tensor([0, 1]).log(), [-Infinity, 0]);
    close(lg.tensor([0, 4, 1e-8]).sqrt(), [0, 2, 1e-4]);
    close(lg.tensor([-1000, 1000, 0]).exp(), [0, Infinity, 1]);
    expect(lg.tensor([-3, 0, 3]).relu().toArray()).toEqual([0, 0, 3]);
    expect(lg.tensor([-3, 0, 3]).abs().toArray()).toEqual([3, 0, 3]);
  });

  it('sigmoid is stable at ±100 and ±1000', () => {
    const x = lg.tensor([-1000, -100, -20, 0, 20, 100, 1000]);
    const v = Array.from(x.sigmoid().dataSync());
    for (const e of v) expect(Number.isNaN(e)).toBe(false);
    close(x.sigmoid(), [0, R.sigmoidScalar(-100), R.sigmoidScalar(-20), 0.5, 1, 1, 1], [1e-5, 1e-9]);
  });

  it('tanh is stable at large magnitude', () => {
    const x = lg.tensor([-1000, -100, -20, 0, 20, 100, 1000]);
    close(x.tanh(), [-1, -1, -1, 0, 1, 1, 1], EW);
  });

  it('exp/log/sqrt/sin on int32 give float32', () => {
    const x = lg.tensor(new Int32Array([1, 4, 9]));
    for (const op of ['exp', 'log', 'sqrt', 'sin', 'cos', 'tanh', 'sigmoid'] as const) {
      const y = (x as any)[op]() as lg.Tensor;
      expect(y.dtype, op).toBe('float32');
      close(y, [1, 4, 9].map(R.unaryFns[op]), EW, op);
    }
  });

  it('neg and abs of int32 stay int32', () => {
    const x = lg.tensor(new Int32Array([3, -4, 0]));
    const n = x.neg();
    expect(n.dtype).toBe('int32');
    expect(n.toArray()).toEqual([-3, 4, 0]);
    const a = x.abs();
    expect(a.dtype).toBe('int32');
    expect(a.toArray()).toEqual([3, 4, 0]);
  });
});

// ============================================================ dtype rules

describe('dtype rules', () => {
  const I = (xs: number[]) => lg.tensor(new Int32Array(xs));

  it('int32 + integer number stays int32 (weak typing)', () => {
    const y = I([1, 2, 3]).add(2);
    expect(y.dtype).toBe('int32');
    expect(y.toArray()).toEqual([3, 4, 5]);
    const z = I([1, 2, 3]).mul(3).sub(1);
    expect(z.dtype).toBe('int32');
    expect(z.toArray()).toEqual([2, 5, 8]);
  });

  it('int32 + fractional number gives float32', () => {
    const y = I([1, 2, 3]).add(0.5);
    expect(y.dtype).toBe('float32');
    expect(y.toArray()).toEqual([1.5, 2.5, 3.5]);
  });

  it('int32 * float32 tensor gives float32', () => {
    const y = I([1, 2, 3]).mul(lg.tensor([0.5, 0.5, 0.5]));
    expect(y.dtype).toBe('float32');
    expect(y.toArray()).toEqual([0.5, 1, 1.5]);
    const z = lg.tensor([0.5, 0.5, 0.5]).mul(I([1, 2, 3]));
    expect(z.dtype).toBe('float32');
    expect(z.toArray()).toEqual([0.5, 1, 1.5]);
  });

  it('a 0-d float32 tensor is not weak: int32 * f32[] gives float32', () => {
    const y = I([1, 2]).mul(lg.tensor(2));
    expect(y.dtype).toBe('float32');
    expect(y.toArray()).toEqual([2, 4]);
  });

  it('float32 + number stays float32', () => {
    const y = lg.tensor([1, 2]).add(1);
    expect(y.dtype).toBe('float32');
    expect(y.toArray()).toEqual([2, 3]);
  });

  it('int32 / int32 is true division giving float32', () => {
    const y = I([7, -7, 1, 6]).div(I([2, 2, 3, 3]));
    expect(y.dtype).toBe('float32');
    close(y, [3.5, -3.5, 1 / 3, 2]);
    const z = I([7, -7]).div(2);
    expect(z.dtype).toBe('float32');
    expect(z.toArray()).toEqual([3.5, -3.5]);
  });

  it('int32 maximum/minimum stay int32', () => {
    const a = I([1, 5, -3]);
    const b = I([2, 4, -3]);
    expect(a.maximum(b).dtype).toBe('int32');
    expect(a.maximum(b).toArray()).toEqual([2, 5, -3]);
    expect(a.minimum(b).toArray()).toEqual([1, 4, -3]);
  });

  it('pow on int32 gives float32', () => {
    const y = I([2, 3, -2]).pow(2);
    expect(y.dtype).toBe('float32');
    expect(y.toArray()).toEqual([4, 9, 4]);
  });

  itExactInt32('int32 addition and subtraction wrap', () => {
    expect(I([2147483647]).add(1).toArray()).toEqual([-2147483648]);
    expect(I([-2147483648]).sub(1).toArray()).toEqual([2147483647]);
    expect(
      I([2147483647])
        .add(I([2147483647]))
        .toArray(),
    ).toEqual([-2]);
  });

  itExactInt32('int32 multiplication wraps like Math.imul', () => {
    const y = I([65536, 100000, 46341, -123456]).mul(I([65536, 100000, 46341, 98765]));
    expect(y.dtype).toBe('int32');
    expect(y.toArray()).toEqual([
      Math.imul(65536, 65536),
      Math.imul(100000, 100000),
      Math.imul(46341, 46341),
      Math.imul(-123456, 98765),
    ]);
  });

  itExactInt32('int32 arithmetic is exact above 2^24', () => {
    const y = I([16777217, 123456789]).add(I([2, 1]));
    expect(y.toArray()).toEqual([16777219, 123456790]);
    const z = I([16777217]).mul(3);
    expect(z.toArray()).toEqual([50331651]);
  });

  itExactInt32('int32 sum is exact and wraps', () => {
    const s = I([16777217, 2, 1]).sum();
    expect(s.dtype).toBe('int32');
    expect(s.item()).toBe(16777220);
    const w = I([1 << 30, 1 << 30, 1 << 30]).sum();
    expect(w.dtype).toBe('int32');
    expect(w.item()).toBe(-1073741824);
    const rows = lg
      .tensor(
        [
          [16777217, 1],
          [2147483647, 1],
        ],
        { dtype: 'int32' },
      )
      .sum(1);
    expect(rows.toArray()).toEqual([16777218, -2147483648]);
  });

  itExactInt32('int32 max/min reductions stay int32', () => {
    const x = lg.tensor(
      [
        [3, -7, 16777217],
        [0, 16777219, -1],
      ],
      { dtype: 'int32' },
    );
    expect(x.max().dtype).toBe('int32');
    expect(x.max().item()).toBe(16777219);
    expect(x.min(1).toArray()).toEqual([-7, -1]);
  });

  it('sum of bool gives int32', () => {
    const b = lg.tensor([
      [true, false, true],
      [true, true, true],
    ]);
    const s = b.sum();
    expect(s.dtype).toBe('int32');
    expect(s.item()).toBe(5);
    const s1 = b.sum(1);
    expect(s1.dtype).toBe('int32');
    expect(s1.toArray()).toEqual([2, 3]);
    const c = lg.tensor([1, 2, 3, 4, 5]).gt(2).sum();
    expect(c.dtype).toBe('int32');
    expect(c.item()).toBe(3);
  });

  it('mean of int32 and bool gives float32', () => {
    const m = I([1, 2]).mean();
    expect(m.dtype).toBe('float32');
    expect(m.item()).toBe(1.5);
    const mb = lg.tensor([true, false, false, false]).mean();
    expect(mb.dtype).toBe('float32');
    expect(mb.item()).toBe(0.25);
  });

  it('argmax gives int32', () => {
    const a = lg
      .tensor([
        [1, 3, 2],
        [9, 0, 4],
      ])
      .argmax(1);
    expect(a.dtype).toBe('int32');
    expect(a.toArray()).toEqual([1, 0]);
  });

  it('cast float32 -> int32 truncates toward zero', () => {
    const y = lg.tensor([1.7, -1.7, 2.5, -0.5, 0.99, -2, 123456.9]).cast('int32');
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual([1, -1, 2, 0, 0, -2, 123456]);
  });

  it('cast to and from bool', () => {
    const b = lg.tensor([0, 0.5, -1, 0]).cast('bool');
    expect(b.dtype).toBe('bool');
    expect(b.toArray()).toEqual([false, true, true, false]);
    const f = lg.tensor([true, false]).cast('float32');
    expect(f.dtype).toBe('float32');
    expect(f.toArray()).toEqual([1, 0]);
    const i = lg.tensor([true, false, true]).cast('int32');
    expect(i.dtype).toBe('int32');
    expect(i.toArray()).toEqual([1, 0, 1]);
    const ib = I([0, 3, -2]).cast('bool');
    expect(ib.toArray()).toEqual([false, true, true]);
  });

  it('cast int32 -> float32 and float32 -> float32', () => {
    const f = I([3, -4]).cast('float32');
    expect(f.dtype).toBe('float32');
    expect(f.toArray()).toEqual([3, -4]);
    const g = lg.tensor([1.25]).cast('float32');
    expect(g.dtype).toBe('float32');
    expect(g.toArray()).toEqual([1.25]);
  });

  it('int32 comparisons give bool', () => {
    const c = I([1, 2, 3]).lt(2.5);
    expect(c.dtype).toBe('bool');
    expect(c.toArray()).toEqual([true, true, false]);
    const e = I([1, 2, 3]).eq(I([1, 0, 3]));
    expect(e.toArray()).toEqual([true, false, true]);
  });

  it('int32 matmul stays int32 and is exact', () => {
    const a = lg.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'int32' },
    );
    const b = lg.tensor(
      [
        [5, 6],
        [7, 8],
      ],
      { dtype: 'int32' },
    );
    const c = a.matmul(b);
    expect(c.dtype).toBe('int32');
    expect(c.toArray()).toEqual([
      [19, 22],
      [43, 50],
    ]);
  });

  it('float32 storage rounds results', () => {
    const y = lg.tensor([16777216]).add(1);
    expect(y.toArray()).toEqual([16777216]);
    const z = lg.tensor([0.1]).add(0.2);
    expect(z.toArray()).toEqual([Math.fround(Math.fround(0.1) + Math.fround(0.2))]);
  });

  it('where picks by condition and promotes like binary ops', () => {
    const c = lg.tensor([true, false, true]);
    const w = lg.where(c, I([1, 2, 3]), I([10, 20, 30]));
    expect(w.dtype).toBe('int32');
    expect(w.toArray()).toEqual([1, 20, 3]);
    const wf = lg.where(c, lg.tensor([0.5, 0.5, 0.5]), 0);
    expect(wf.dtype).toBe('float32');
    expect(wf.toArray()).toEqual([0.5, 0, 0.5]);
  });
});

// ============================================================ reductions

describe('reductions', () => {
  const rng = R.mulberry32(3);
  const cases: [number[], (number | number[] | undefined)[]][] = [
    [[], [undefined]],
    [[5], [undefined, 0, -1, [0]]],
    [
      [2, 3],
      [undefined, 0, 1, -1, -2, [0, 1], [1, 0], [-1]],
    ],
    [
      [2, 3, 4],
      [undefined, 0, 1, 2, -1, [0, 2], [-1, 0], [1, 2], [0, 1, 2]],
    ],
    [
      [1, 4, 1],
      [undefined, 0, 2, [0, 2], -3],
    ],
    [
      [3, 1, 5, 2],
      [undefined, 1, [0, 3], [-1, -2], 2],
    ],
  ];
  type RedName = 'sum' | 'mean' | 'max' | 'min';
  const REF: Record<RedName, (a: ND, ax?: number | number[], k?: boolean) => ND> = {
    sum: R.sum,
    mean: R.mean,
    max: R.max,
    min: R.min,
  };
  for (const op of Object.keys(REF) as RedName[]) {
    for (const [shape, axes] of cases) {
      for (const axis of axes) {
        for (const keepdims of [false, true]) {
          it(`${op} ${S(shape)} axis=${JSON.stringify(axis)} keepdims=${keepdims}`, () => {
            const a = R.randND(rng, shape, -3, 3);
            const t = T(a);
            const out = (
              keepdims ? (t as any)[op](axis, true) : axis === undefined ? (t as any)[op]() : (t as any)[op](axis)
            ) as lg.Tensor;
            const ref = REF[op](a, axis, keepdims);
            expect(out.shape).toEqual(ref.shape);
            expect(out.dtype).toBe('float32');
            close(out, ref, RED, op);
          });
        }
      }
    }
  }

  it('sum with keepdims=false passed explicitly', () => {
    const x = lg.tensor([
      [1, 2],
      [3, 4],
    ]);
    expect(x.sum(0, false).toArray()).toEqual([4, 6]);
    expect(x.sum(undefined, true).toArray()).toEqual([[10]]);
  });

  it('max/min with negative values and infinities', () => {
    const x = lg.tensor([
      [-5, -Infinity, -2],
      [-1, -7, Infinity],
    ]);
    expect(x.max(1).toArray()).toEqual([-2, Infinity]);
    expect(x.min(1).toArray()).toEqual([-Infinity, -7]);
    expect(x.max().item()).toBe(Infinity);
    expect(lg.tensor([-3, -1, -2]).max().item()).toBe(-1);
    expect(lg.tensor([3, 1, 2]).min().item()).toBe(1);
  });

  it('reductions of a 0-d tensor', () => {
    const s = lg.tensor(4.5);
    expect(s.sum().toArray()).toBe(4.5);
    expect(s.mean().toArray()).toBe(4.5);
    expect(s.max().toArray()).toBe(4.5);
  });

  it('large sums are accurate to float32 tolerance', () => {
    const r = R.mulberry32(99);
    const a = R.randND(r, [20000], 0, 1);
    close(T(a).sum(), R.sum(a), RED);
    close(T(a).mean(), R.mean(a), RED);
  });

  describe('argmax', () => {
    const shapes: [number[], number[]][] = [
      [[5], [0, -1]],
      [
        [3, 4],
        [0, 1, -1, -2],
      ],
      [
        [2, 3, 4],
        [0, 1, 2, -1],
      ],
      [
        [1, 5, 1],
        [1, 0, 2],
      ],
    ];
    for (const [shape, axes] of shapes) {
      for (const axis of axes) {
        it(`argmax ${S(shape)} axis=${axis}`, () => {
          const a = R.randND(rng, shape);
          const out = T(a).argmax(axis);
          expect(out.dtype).toBe('int32');
          const ref = R.argmax(a, axis);
          expect(out.shape).toEqual(ref.shape);
          close(out, ref, [0, 0]);
        });
      }
    }
    it('ties resolve to the first index (numpy)', () => {
      const x = lg.tensor([
        [1, 3, 3],
        [2, 2, 1],
        [0, 0, 0],
      ]);
      expect(x.argmax(1).toArray()).toEqual([1, 0, 0]);
      expect(x.argmax(0).toArray()).toEqual([1, 0, 0]);
    });
    it('argmax of int32', () => {
      const x = lg.tensor(
        [
          [16777217, 16777218],
          [-5, -6],
        ],
        { dtype: 'int32' },
      );
      expect(x.argmax(1).toArray()).toEqual([1, 0]);
    });
  });
});

// ============================================================ softmax family

describe('softmax / logSoftmax / logsumexp', () => {
  const rng = R.mulberry32(4);
  const shapes: [number[], number[]][] = [
    [[5], [0, -1]],
    [
      [3, 4],
      [0, 1, -1, -2],
    ],
    [
      [2, 3, 4],
      [0, 1, 2, -1],
    ],
    [
      [2, 1, 3],
      [1, 2],
    ],
  ];
  for (const [shape, axes] of shapes) {
    it(`softmax ${S(shape)} default axis`, () => {
      const a = R.randND(rng, shape, -5, 5);
      close(T(a).softmax(), R.softmax(a, -1), RED);
      close(T(a).logSoftmax(), R.logSoftmax(a, -1), RED);
    });
    for (const axis of axes) {
      it(`softmax/logSoftmax ${S(shape)} axis=${axis}`, () => {
        const a = R.randND(rng, shape, -5, 5);
        const s = T(a).softmax(axis);
        expect(s.shape).toEqual(shape);
        expect(s.dtype).toBe('float32');
        close(s, R.softmax(a, axis), RED);
        close(T(a).logSoftmax(axis), R.logSoftmax(a, axis), RED);
      });
      for (const keepdims of [false, true]) {
        it(`logsumexp ${S(shape)} axis=${axis} keepdims=${keepdims}`, () => {
          const a = R.randND(rng, shape, -5, 5);
          const out = keepdims ? T(a).logsumexp(axis, true) : T(a).logsumexp(axis);
          const ref = R.logsumexp(a, axis, keepdims);
          expect(out.shape).toEqual(ref.shape);
          close(out, ref, RED);
        });
      }
    }
  }

  it('softmax is stable at ±1000', () => {
    const x = lg.tensor([
      [1000, -1000, 0],
      [-1000, -1000, -1000],
      [1000, 1000, 999],
    ]);
    const s = x.softmax();
    for (const v of Array.from(s.dataSync())) expect(Number.isFinite(v)).toBe(true);
    const ref = R.softmax(R.fromNested(x.toArray()), -1);
    close(s, ref, RED);
    close(s.sum(-1), [1, 1, 1], RED);
  });

  it('logSoftmax is stable at ±1000', () => {
    const a = R.fromNested([
      [1000, -1000, 0],
      [-1000, -1000, -1000],
      [1000, 1000, 999],
    ]);
    const ls = T(a).logSoftmax(-1);
    for (const v of Array.from(ls.dataSync())) expect(Number.isFinite(v)).toBe(true);
    close(ls, R.logSoftmax(a, -1), RED);
    // along axis 0 as well
    close(T(a).logSoftmax(0), R.logSoftmax(a, 0), RED);
  });

  it('logsumexp is stable at ±1000', () => {
    const a = R.fromNested([
      [1000, 1000],
      [-1000, -1000],
      [1000, -1000],
    ]);
    const out = T(a).logsumexp(1);
    close(out, [1000 + Math.LN2, -1000 + Math.LN2, 1000], RED);
    const k = T(a).logsumexp(-1, true);
    expect(k.shape).toEqual([3, 1]);
    close(k, [[1000 + Math.LN2], [-1000 + Math.LN2], [1000]], RED);
  });

  it('softmax of size-1 axis is 1', () => {
    expect(
      lg
        .tensor([[5], [-1000]])
        .softmax(1)
        .toArray(),
    ).toEqual([[1], [1]]);
  });
});

// ============================================================ matmul

describe('matmul (numpy semantics)', () => {
  const rng = R.mulberry32(5);
  const cases: [number[], number[]][] = [
    [
      [2, 3],
      [3, 4],
    ],
    [
      [1, 1],
      [1, 1],
    ],
    [
      [5, 7],
      [7, 1],
    ],
    [[3], [3, 4]],
    [[2, 3], [3]],
    [[3], [3]],
    [
      [4, 2, 3],
      [4, 3, 5],
    ],
    [
      [4, 2, 3],
      [3, 5],
    ],
    [
      [2, 3],
      [4, 3, 5],
    ],
    [
      [2, 1, 3, 4],
      [5, 4, 2],
    ],
    [[2, 3, 4], [4]],
    [[4], [2, 4, 3]],
    [
      [1, 2, 3],
      [6, 3, 2],
    ],
    [
      [17, 33],
      [33, 19],
    ],
    [
      [8, 64],
      [64, 8],
    ],
  ];
  for (const [sa, sb] of cases) {
    it(`${S(sa)} @ ${S(sb)}`, () => {
      const a = R.randND(rng, sa);
      const b = R.randND(rng, sb);
      const out = T(a).matmul(T(b));
      const ref = R.matmul(a, b);
      expect(out.shape).toEqual(ref.shape);
      expect(out.dtype).toBe('float32');
      close(out, ref, RED);
    });
  }

  it('hand-computed 2x2', () => {
    const a = lg.tensor([
      [1, 2],
      [3, 4],
    ]);
    const b = lg.tensor([
      [5, 6],
      [7, 8],
    ]);
    expect(a.matmul(b).toArray()).toEqual([
      [19, 22],
      [43, 50],
    ]);
    expect(
      lg
        .tensor([1, 2])
        .matmul(lg.tensor([3, 4]))
        .toArray(),
    ).toBe(11);
  });

  it('int32 @ float32 gives float32', () => {
    const a = lg.tensor([[1, 2]], { dtype: 'int32' });
    const b = lg.tensor([[0.5], [0.25]]);
    const c = a.matmul(b);
    expect(c.dtype).toBe('float32');
    expect(c.toArray()).toEqual([[1]]);
  });
});

// ============================================================ movement

describe('movement ops', () => {
  const rng = R.mulberry32(6);

  it('reshape with and without -1', () => {
    const a = R.randND(rng, [2, 3, 4]);
    const t = T(a);
    for (const s of [[24], [4, 6], [2, 12], [-1], [4, -1], [-1, 3, 2], [2, 3, 4], [1, 24, 1], [3, -1, 1, 2]]) {
      const r = t.reshape(s);
      const ref = R.reshape(a, s);
      expect(r.shape, S(s)).toEqual(ref.shape);
      close(r, ref, EW, `reshape ${S(s)}`);
    }
  });

  it('reshape 0-d <-> size-1', () => {
    const x = lg.tensor(3);
    expect(x.reshape([1, 1]).toArray()).toEqual([[3]]);
    expect(
      lg
        .tensor([[3]])
        .reshape([])
        .toArray(),
    ).toBe(3);
    expect(x.reshape([-1]).toArray()).toEqual([3]);
  });

  it('transpose() reverses all axes', () => {
    const a = R.randND(rng, [2, 3, 4]);
    const r = T(a).transpose();
    expect(r.shape).toEqual([4, 3, 2]);
    close(r, R.transpose(a), EW);
    expect(lg.tensor(5).transpose().toArray()).toBe(5);
    expect(lg.tensor([1, 2]).transpose().toArray()).toEqual([1, 2]);
  });

  it('transpose(perm) for all permutations of rank 3', () => {
    const a = R.randND(rng, [2, 3, 4]);
    const perms = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    for (const p of perms) close(T(a).transpose(p), R.transpose(a, p), EW, `perm ${p}`);
  });

  it('transpose 2-D hand-computed', () => {
    expect(
      lg
        .tensor([
          [1, 2, 3],
          [4, 5, 6],
        ])
        .transpose()
        .toArray(),
    ).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(
      lg
        .tensor([
          [1, 2, 3],
          [4, 5, 6],
        ])
        .transpose([1, 0])
        .toArray(),
    ).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
  });

  it('expand', () => {
    const cases: [number[], number[]][] = [
      [
        [1, 4],
        [3, 4],
      ],
      [[4], [2, 3, 4]],
      [
        [3, 1],
        [3, 5],
      ],
      [[], [2, 2]],
      [
        [2, 1, 3],
        [4, 2, 5, 3],
      ],
      [
        [2, 3],
        [2, 3],
      ],
    ];
    for (const [from, to] of cases) {
      const a = R.randND(rng, from);
      const r = T(a).expand(to);
      expect(r.shape).toEqual(to);
      close(r, R.expand(a, to), EW, `${S(from)}->${S(to)}`);
    }
  });

  it('squeeze / unsqueeze', () => {
    const a = R.randND(rng, [1, 3, 1, 2]);
    const t = T(a);
    expect(t.squeeze().shape).toEqual([3, 2]);
    close(t.squeeze(), R.squeeze(a));
    expect(t.squeeze(0).shape).toEqual([3, 1, 2]);
    expect(t.squeeze(2).shape).toEqual([1, 3, 2]);
    expect(t.squeeze(-2).shape).toEqual([1, 3, 2]);
    expect(t.squeeze(-4).shape).toEqual([3, 1, 2]);
    close(t.squeeze(-2), R.squeeze(a, -2));
    expect(lg.tensor([[7]]).squeeze().shape).toEqual([]);
    expect(
      lg
        .tensor([[7]])
        .squeeze()
        .toArray(),
    ).toBe(7);
    expect(lg.tensor([1, 2]).squeeze().shape).toEqual([2]);

    const b = R.randND(rng, [3, 2]);
    const u = T(b);
    expect(u.unsqueeze(0).shape).toEqual([1, 3, 2]);
    expect(u.unsqueeze(1).shape).toEqual([3, 1, 2]);
    expect(u.unsqueeze(2).shape).toEqual([3, 2, 1]);
    expect(u.unsqueeze(-1).shape).toEqual([3, 2, 1]);
    expect(u.unsqueeze(-2).shape).toEqual([3, 1, 2]);
    expect(u.unsqueeze(-3).shape).toEqual([1, 3, 2]);
    close(u.unsqueeze(-1), R.unsqueeze(b, -1));
    close(u.unsqueeze(1), R.unsqueeze(b, 1));
    expect(lg.tensor(4).unsqueeze(0).toArray()).toEqual([4]);
    expect(lg.tensor(4).unsqueeze(-1).toArray()).toEqual([4]);
  });

  it('flatten', () => {
    const a = R.randND(rng, [2, 3, 4]);
    const f = T(a).flatten();
    expect(f.shape).toEqual([24]);
    close(f, R.flatten(a));
    expect(lg.tensor(3).flatten().shape).toEqual([1]);
    // flatten of a non-contiguous view
    close(T(a).transpose([2, 0, 1]).flatten(), R.flatten(R.transpose(a, [2, 0, 1])));
  });

  describe('slice (numpy semantics)', () => {
    const x = () => lg.arange(10);
    it('basic ranges', () => {
      expect(x().slice([2], [5]).toArray()).toEqual([2, 3, 4]);
      expect(x().slice([0], [10], [3]).toArray()).toEqual([0, 3, 6, 9]);
      expect(x().slice([1], [9], [2]).toArray()).toEqual([1, 3, 5, 7]);
    });
    it('negative indices count from the end', () => {
      expect(x().slice([-3], [10]).toArray()).toEqual([7, 8, 9]);
      expect(x().slice([-5], [-2]).toArray()).toEqual([5, 6, 7]);
      expect(x().slice([1], [-8]).toArray()).toEqual([1]);
    });
    it('out-of-range bounds clamp', () => {
      expect(x().slice([-100], [3]).toArray()).toEqual([0, 1, 2]);
      expect(x().slice([7], [100]).toArray()).toEqual([7, 8, 9]);
      expect(x().slice([-100], [100], [4]).toArray()).toEqual([0, 4, 8]);
    });
    it('negative steps', () => {
      expect(x().slice([8], [1], [-3]).toArray()).toEqual([8, 5, 2]);
      expect(x().slice([9], [-11], [-1]).toArray()).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(x().slice([100], [-100], [-1]).toArray()).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(x().slice([-1], [-4], [-1]).toArray()).toEqual([9, 8, 7]);
      expect(x().slice([5], [0], [-2]).toArray()).toEqual([5, 3, 1]);
      expect(x().slice([3], [-100], [-2]).toArray()).toEqual([3, 1]);
    });
    it('2-D with different steps per axis', () => {
      const a = R.nd([4, 5], (i) => i);
      const t = T(a);
      const r = t.slice([3, 0], [-5, 5], [-1, 2]);
      expect(r.shape).toEqual([4, 3]);
      expect(r.toArray()).toEqual([
        [15, 17, 19],
        [10, 12, 14],
        [5, 7, 9],
        [0, 2, 4],
      ]);
      close(t.slice([1, -1], [3, -6], [1, -2]), R.slice(a, [1, -1], [3, -6], [1, -2]));
    });
    it('keeps dtype', () => {
      expect(x().slice([0], [2]).dtype).toBe('int32');
      expect(lg.tensor([true, false, true]).slice([0], [3], [2]).toArray()).toEqual([true, true]);
    });
    it('random slices of a 3-D tensor against numpy semantics', () => {
      const r = R.mulberry32(60);
      const a = R.randND(r, [5, 4, 6]);
      const t = T(a);
      let n = 0;
      while (n < 40) {
        const starts: number[] = [];
        const ends: number[] = [];
        const steps: number[] = [];
        for (const dim of a.shape) {
          starts.push(R.randInt(r, -dim - 3, dim + 3));
          ends.push(R.randInt(r, -dim - 3, dim + 3));
          steps.push(R.pick(r, [-3, -2, -1, 1, 2, 3]));
        }
        const ref = R.slice(a, starts, ends, steps);
        if (ref.data.length === 0) continue;
        n++;
        const out = t.slice(starts, ends, steps);
        close(out, ref, EW, `slice ${S(starts)} ${S(ends)} ${S(steps)}`);
      }
    });
    it('steps default to 1', () => {
      const a = R.randND(rng, [4, 5]);
      close(T(a).slice([1, -3], [3, 5]), R.slice(a, [1, -3], [3, 5]));
    });
    it('empty result (start == stop) has a 0-length axis', () => {
      const e = x().slice([3], [3]);
      expect(e.shape).toEqual([0]);
      expect(e.size).toBe(0);
      expect(e.toArray()).toEqual([]);
    });
  });

  it('pad with zeros and with a value', () => {
    const a = R.randND(rng, [2, 3]);
    const p1: [number, number][] = [
      [1, 0],
      [2, 1],
    ];
    const r1 = T(a).pad(p1);
    expect(r1.shape).toEqual([3, 6]);
    close(r1, R.pad(a, p1));
    const p2: [number, number][] = [
      [0, 2],
      [0, 0],
    ];
    close(T(a).pad(p2, -2.5), R.pad(a, p2, -2.5));
    const b = R.randND(rng, [2, 1, 3]);
    const p3: [number, number][] = [
      [1, 1],
      [2, 0],
      [0, 3],
    ];
    close(T(b).pad(p3, 7), R.pad(b, p3, 7));
    expect(
      lg
        .tensor([1, 2])
        .pad([[1, 2]])
        .toArray(),
    ).toEqual([0, 1, 2, 0, 0]);
  });

  it('pad of int32 keeps int32', () => {
    const p = lg.tensor(new Int32Array([1, 2])).pad([[1, 1]], 9);
    expect(p.dtype).toBe('int32');
    expect(p.toArray()).toEqual([9, 1, 2, 9]);
  });

  it('concat along each axis, negative axis, several inputs', () => {
    const a = R.randND(rng, [2, 3, 4]);
    const b = R.randND(rng, [2, 1, 4]);
    const c = R.randND(rng, [2, 2, 4]);
    const r = lg.concat([T(a), T(b), T(c)], 1);
    expect(r.shape).toEqual([2, 6, 4]);
    close(r, R.concat([a, b, c], 1));
    const d = R.randND(rng, [1, 3, 4]);
    close(lg.concat([T(a), T(d)], 0), R.concat([a, d], 0));
    const e = R.randND(rng, [2, 3, 5]);
    close(lg.concat([T(a), T(e)], -1), R.concat([a, e], -1));
    close(lg.concat([T(a)], 2), a);
    expect(lg.concat([lg.tensor([1, 2]), lg.tensor([3])], 0).toArray()).toEqual([1, 2, 3]);
  });

  it('concat of int32 keeps int32', () => {
    const r = lg.concat([lg.arange(3), lg.arange(2)], 0);
    expect(r.dtype).toBe('int32');
    expect(r.toArray()).toEqual([0, 1, 2, 0, 1]);
  });

  it('stack along new axes', () => {
    const a = R.randND(rng, [2, 3]);
    const b = R.randND(rng, [2, 3]);
    const c = R.randND(rng, [2, 3]);
    for (const axis of [0, 1, 2, -1, -2, -3]) {
      const r = lg.stack([T(a), T(b), T(c)], axis);
      const ref = R.stack([a, b, c], axis);
      expect(r.shape, `axis ${axis}`).toEqual(ref.shape);
      close(r, ref, EW, `stack axis ${axis}`);
    }
    const s = lg.stack([lg.tensor(1), lg.tensor(2), lg.tensor(3)], 0);
    expect(s.shape).toEqual([3]);
    expect(s.toArray()).toEqual([1, 2, 3]);
  });

  it('oneHot of int32 indices gives float32', () => {
    const h = lg.tensor(new Int32Array([0, 2, 1])).oneHot(3);
    expect(h.dtype).toBe('float32');
    expect(h.shape).toEqual([3, 3]);
    expect(h.toArray()).toEqual([
      [1, 0, 0],
      [0, 0, 1],
      [0, 1, 0],
    ]);
    const idx = R.fromNested([
      [3, 0],
      [1, 1],
    ]);
    const h2 = T(idx, 'int32').oneHot(4);
    expect(h2.shape).toEqual([2, 2, 4]);
    close(h2, R.oneHot(idx, 4));
    const h3 = lg.arange(5).oneHot(5);
    close(h3, R.eye(5));
  });

  it('where broadcasts all three operands', () => {
    const shapes: [number[], number[], number[]][] = [
      [
        [2, 3],
        [2, 3],
        [2, 3],
      ],
      [[2, 1], [1, 3], [3]],
      [[3], [2, 3], []],
      [[], [2, 2], [2, 1]],
      [
        [4, 1, 1],
        [1, 2, 1],
        [1, 1, 3],
      ],
    ];
    for (const [sc, sa, sb] of shapes) {
      const c = R.randIntND(rng, sc, 0, 2);
      const a = R.randND(rng, sa);
      const b = R.randND(rng, sb);
      const out = lg.where(T(c, 'bool'), T(a), T(b));
      const ref = R.where(c, a, b);
      expect(out.shape).toEqual(ref.shape);
      close(out, ref, EW, `where ${S(sc)} ${S(sa)} ${S(sb)}`);
    }
  });

  it('where with numbers and a computed condition', () => {
    const x = lg.tensor([
      [-1, 2],
      [3, -4],
    ]);
    expect(lg.where(x.gt(0), x, 0).toArray()).toEqual([
      [0, 2],
      [3, 0],
    ]);
    expect(lg.where(x.lt(0), 1, x).toArray()).toEqual([
      [1, 2],
      [3, 1],
    ]);
    const w = lg.where(x.gt(0), 1, 0);
    expect(w.shape).toEqual([2, 2]);
    expect(Array.from(w.dataSync())).toEqual([0, 1, 1, 0]);
  });
});

// ============================================================ conv / pool

describe('conv2d / maxPool2d / avgPool2d', () => {
  const rng = R.mulberry32(7);

  it('hand-computed conv2d with stride 2', () => {
    const x = lg.arange(16).cast('float32').reshape([1, 1, 4, 4]);
    const w = lg.ones([1, 1, 2, 2]);
    const y = lg.conv2d(x, w, { stride: 2 });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(y.toArray()).toEqual([
      [
        [
          [10, 18],
          [42, 50],
        ],
      ],
    ]);
  });

  it('conv2d is cross-correlation (kernel not flipped)', () => {
    const x = lg.arange(16).cast('float32').reshape([1, 1, 4, 4]);
    const w = lg.tensor([
      [
        [
          [1, 0],
          [0, 0],
        ],
      ],
    ]);
    const y = lg.conv2d(x, w);
    expect(y.shape).toEqual([1, 1, 3, 3]);
    expect(y.toArray()).toEqual([
      [
        [
          [0, 1, 2],
          [4, 5, 6],
          [8, 9, 10],
        ],
      ],
    ]);
  });

  it('conv2d without options uses stride 1, padding 0', () => {
    const x = R.randND(rng, [1, 2, 5, 5]);
    const w = R.randND(rng, [3, 2, 3, 3]);
    const y = lg.conv2d(T(x), T(w));
    expect(y.shape).toEqual([1, 3, 3, 3]);
    close(y, R.conv2d(x, w), RED);
  });

  const convCases: [number[], number[], number, number][] = [
    [[2, 3, 7, 6], [4, 3, 3, 2], 1, 0],
    [[2, 3, 7, 6], [4, 3, 3, 3], 2, 1],
    [[1, 2, 8, 8], [3, 2, 3, 3], 1, 1],
    [[1, 2, 8, 8], [3, 2, 3, 3], 2, 0],
    [[1, 1, 5, 5], [1, 1, 1, 1], 1, 0],
    [[2, 4, 9, 7], [5, 4, 5, 3], 3, 2],
    [[1, 3, 6, 6], [2, 3, 2, 2], 2, 0],
    [[3, 1, 4, 4], [2, 1, 4, 4], 1, 0],
  ];
  for (const [sx, sw, stride, padding] of convCases) {
    it(`conv2d x${S(sx)} w${S(sw)} stride=${stride} padding=${padding}`, () => {
      const x = R.randND(rng, sx);
      const w = R.randND(rng, sw);
      const y = lg.conv2d(T(x), T(w), { stride, padding });
      const ref = R.conv2d(x, w, stride, padding);
      expect(y.shape).toEqual(ref.shape);
      expect(y.dtype).toBe('float32');
      close(y, ref, RED);
    });
  }

  const poolCases: [number[], number, number | undefined, number][] = [
    [[2, 3, 6, 6], 2, undefined, 0],
    [[1, 2, 7, 7], 3, 2, 1],
    [[1, 1, 5, 5], 2, 1, 0],
    [[2, 2, 8, 6], 3, 3, 1],
    [[1, 1, 4, 4], 2, 2, 1],
    [[1, 3, 5, 7], 2, undefined, 0],
  ];
  for (const [sx, k, stride, padding] of poolCases) {
    const opts: { stride?: number; padding?: number } = {};
    if (stride !== undefined) opts.stride = stride;
    if (padding) opts.padding = padding;
    it(`maxPool2d x${S(sx)} k=${k} ${JSON.stringify(opts)}`, () => {
      const x = R.randND(rng, sx, -3, 3);
      const y = Object.keys(opts).length ? lg.maxPool2d(T(x), k, opts) : lg.maxPool2d(T(x), k);
      const ref = R.maxPool2d(x, k, stride ?? k, padding);
      expect(y.shape).toEqual(ref.shape);
      close(y, ref, EW);
    });
    it(`avgPool2d x${S(sx)} k=${k} ${JSON.stringify(opts)}`, () => {
      const x = R.randND(rng, sx, -3, 3);
      const y = Object.keys(opts).length ? lg.avgPool2d(T(x), k, opts) : lg.avgPool2d(T(x), k);
      const ref = R.avgPool2d(x, k, stride ?? k, padding);
      expect(y.shape).toEqual(ref.shape);
      close(y, ref, RED);
    });
  }

  it('maxPool2d padding never wins over negative values', () => {
    const x = lg.full([1, 1, 3, 3], -1);
    const y = lg.maxPool2d(x, 2, { stride: 2, padding: 1 });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(y.toArray()).toEqual([
      [
        [
          [-1, -1],
          [-1, -1],
        ],
      ],
    ]);
  });

  it('avgPool2d counts padding as zeros', () => {
    const x = lg.ones([1, 1, 2, 2]);
    const y = lg.avgPool2d(x, 2, { padding: 1 });
    expect(y.shape).toEqual([1, 1, 2, 2]);
    expect(y.toArray()).toEqual([
      [
        [
          [0.25, 0.25],
          [0.25, 0.25],
        ],
      ],
    ]);
  });

  it('hand-computed maxPool2d / avgPool2d', () => {
    const x = lg.tensor([
      [
        [
          [1, 2, 5, 0],
          [3, 4, -1, 6],
          [0, 0, 2, 2],
          [-8, 1, 2, 3],
        ],
      ],
    ]);
    expect(lg.maxPool2d(x, 2).toArray()).toEqual([
      [
        [
          [4, 6],
          [1, 3],
        ],
      ],
    ]);
    expect(lg.avgPool2d(x, 2).toArray()).toEqual([
      [
        [
          [2.5, 2.5],
          [-1.75, 2.25],
        ],
      ],
    ]);
  });
});

// ============================================================ composed views

describe.each([true, false])('composed views and composites (fusion=%s)', (fusion) => {
  beforeAll(() => lg.setFusion(fusion));
  afterAll(() => lg.setFusion(true));
  const rng = R.mulberry32(fusion ? 8 : 9);

  it('slice of transpose of reshape', () => {
    const a = R.randND(rng, [2, 3, 4]);
    const out = T(a).reshape([4, 6]).transpose().slice([0, 1], [6, 4], [2, 1]);
    const ref = R.slice(R.transpose(R.reshape(a, [4, 6])), [0, 1], [6, 4], [2, 1]);
    expect(out.shape).toEqual([3, 3]);
    close(out, ref);
  });

  it('expand then slice', () => {
    const a = R.randND(rng, [1, 4, 1]);
    const out = T(a).expand([3, 4, 5]).slice([2, -1, 4], [-4, 0, -6], [-1, -2, -2]);
    const ref = R.slice(R.expand(a, [3, 4, 5]), [2, -1, 4], [-4, 0, -6], [-1, -2, -2]);
    expect(out.shape).toEqual(ref.shape);
    close(out, ref);
  });

  it('pad of a permuted view', () => {
    const a = R.randND(rng, [2, 3, 4]);
    const pads: [number, number][] = [
      [1, 0],
      [0, 2],
      [1, 1],
    ];
    const out = T(a).transpose([2, 0, 1]).pad(pads, -1);
    const ref = R.pad(R.transpose(a, [2, 0, 1]), pads, -1);
    expect(out.shape).toEqual([5, 4, 5]);
    close(out, ref);
  });

  it('reshape of a non-contiguous slice', () => {
    const a = R.randND(rng, [6, 4]);
    const out = T(a).slice([5, 0], [-7, 4], [-2, 1]).reshape([2, 6]);
    const ref = R.reshape(R.slice(a, [5, 0], [-7, 4], [-2, 1]), [2, 6]);
    close(out, ref);
  });

  it('reshape of a transposed view then elementwise with another view', () => {
    const a = R.randND(rng, [3, 4]);
    const b = R.randND(rng, [2, 6]);
    const out = T(a)
      .transpose()
      .reshape([2, 6])
      .mul(T(b).slice([1, 0], [-3, 6], [-1, 1]));
    const ref = R.mul(R.reshape(R.transpose(a), [2, 6]), R.slice(b, [1, 0], [-3, 6], [-1, 1]));
    close(out, ref);
  });

  it('expand then reduce', () => {
    const a = R.randND(rng, [3, 1]);
    const out = T(a).expand([3, 5]).sum(1);
    close(out, R.sum(R.expand(a, [3, 5]), 1), RED);
    const out2 = T(a).unsqueeze(0).expand([4, 3, 2]).transpose([2, 1, 0]).mean([0, 2]);
    close(out2, R.mean(R.transpose(R.expand(R.unsqueeze(a, 0), [4, 3, 2]), [2, 1, 0]), [0, 2]), RED);
  });

  it('matmul of transposed and reversed views', () => {
    const a = R.randND(rng, [4, 3]);
    const b = R.randND(rng, [4, 5]);
    const out = T(a)
      .transpose()
      .matmul(T(b).slice([3, 0], [-5, 5], [-1, 1]));
    const ref = R.matmul(R.transpose(a), R.slice(b, [3, 0], [-5, 5], [-1, 1]));
    close(out, ref, RED);
  });

  it('concat of views, then slice across the seam', () => {
    const a = R.randND(rng, [3, 2]);
    const b = R.randND(rng, [2, 3]);
    const out = lg.concat([T(a).transpose(), T(b).slice([1, 0], [-3, 3], [-1, 1])], 0).slice([1, 2], [4, -4], [1, -1]);
    const ref = R.slice(R.concat([R.transpose(a), R.slice(b, [1, 0], [-3, 3], [-1, 1])], 0), [1, 2], [4, -4], [1, -1]);
    close(out, ref);
  });

  it('pad then slice back to the original', () => {
    const a = R.randND(rng, [3, 4]);
    const out = T(a)
      .pad(
        [
          [2, 1],
          [1, 3],
        ],
        9,
      )
      .slice([2, 1], [5, 5]);
    close(out, a);
  });

  it('softmax over a transposed view', () => {
    const a = R.randND(rng, [3, 5], -4, 4);
    close(T(a).transpose().softmax(-1), R.softmax(R.transpose(a), -1), RED);
  });

  it('diamond: one value used several times', () => {
    const a = R.randND(rng, [4, 3]);
    const t = T(a);
    const e = t.exp();
    const out = e.add(e.mul(t)).sub(e.sum(0));
    const E = R.map(a, Math.exp);
    const ref = R.sub(R.add(E, R.mul(E, a)), R.sum(E, 0));
    close(out, ref, RED);
  });

  it('long elementwise chain with broadcasts and a reduction', () => {
    const a = R.randND(rng, [5, 6]);
    const b = R.randND(rng, [6]);
    const c = R.randND(rng, [5, 1]);
    const out = T(a).mul(T(b)).add(T(c)).tanh().sub(T(a).abs().sqrt()).maximum(T(b).neg()).sum(1, true).div(3);
    const ref = R.div(
      R.sum(
        R.maximum(
          R.sub(R.map(R.add(R.mul(a, b), c), Math.tanh), R.map(R.map(a, Math.abs), Math.sqrt)),
          R.map(b, (v) => -v),
        ),
        1,
        true,
      ),
      3,
    );
    close(out, ref, RED);
  });

  it('conv then pool then flatten then matmul', () => {
    const x = R.randND(rng, [2, 2, 8, 8]);
    const w = R.randND(rng, [3, 2, 3, 3]);
    const m = R.randND(rng, [27, 4]);
    const out = lg
      .maxPool2d(lg.conv2d(T(x), T(w), { padding: 1 }).relu(), 2, { stride: 3 })
      .reshape([2, -1])
      .matmul(T(m));
    const conv = R.map(R.conv2d(x, w, 1, 1), R.unaryFns.relu);
    const ref = R.matmul(R.reshape(R.maxPool2d(conv, 2, 3, 0), [2, -1]), m);
    close(out, ref, RED);
  });

  it('int32 views: arange reshaped, transposed, sliced, summed', () => {
    const out = lg.arange(24).reshape([2, 3, 4]).transpose([1, 2, 0]).slice([2, 3, 0], [-4, -5, 2], [-1, -2, 1]);
    const ref = R.slice(
      R.transpose(
        R.reshape(
          R.nd([24], (i) => i),
          [2, 3, 4],
        ),
        [1, 2, 0],
      ),
      [2, 3, 0],
      [-4, -5, 2],
      [-1, -2, 1],
    );
    expect(out.dtype).toBe('int32');
    close(out, ref, [0, 0]);
    const s = out.sum(-1);
    expect(s.dtype).toBe('int32');
    close(s, R.sum(ref, -1), [0, 0]);
  });

  it('a view output is materialised correctly', () => {
    const a = R.randND(rng, [3, 4]);
    const v = T(a).transpose();
    close(v, R.transpose(a));
    expect(v.toArray()).toEqual(R.toNested(R.transpose(a)));
  });
});

// ============================================================ settings

describe('settings', () => {
  it.skipIf(!!process.env.LAZYGRAD_BACKEND)('js is the default backend', () => {
    expect(lg.getBackend()).toBe('js');
    const info = lg.backendInfo();
    expect(info.name).toBe('js');
    expect(typeof info.mode).toBe('string');
  });

  it('setBackend("js") keeps working', () => {
    const before = lg.getBackend();
    lg.setBackend('js');
    try {
      expect(lg.getBackend()).toBe('js');
      expect(lg.backendInfo().name).toBe('js');
      expect(lg.tensor([1, 2]).add(1).toArray()).toEqual([2, 3]);
    } finally {
      lg.setBackend(before as any);
    }
  });

  it('setFusion(false) and back gives the same numbers', () => {
    const r = R.mulberry32(10);
    const a = R.randND(r, [4, 5]);
    const b = R.randND(r, [5]);
    const f = () => T(a).mul(T(b)).exp().sum(1).log();
    const ref = R.map(R.sum(R.map(R.mul(a, b), Math.exp), 1), Math.log);
    lg.setFusion(false);
    try {
      close(f(), ref, RED);
    } finally {
      lg.setFusion(true);
    }
    close(f(), ref, RED);
  });
});

// ============================================================ larger sizes

describe('larger shapes (tiling, long rows, non-contiguous reductions)', () => {
  const rng = R.mulberry32(13);
  const mm: [number[], number[]][] = [
    [
      [33, 65],
      [65, 47],
    ],
    [
      [3, 17, 9],
      [9, 31],
    ],
    [
      [2, 1, 40, 24],
      [3, 24, 18],
    ],
    [
      [128, 96],
      [96, 10],
    ],
    [
      [1, 300],
      [300, 1],
    ],
  ];
  for (const [sa, sb] of mm) {
    it(`matmul ${S(sa)} @ ${S(sb)}`, () => {
      const a = R.randND(rng, sa);
      const b = R.randND(rng, sb);
      close(T(a).matmul(T(b)), R.matmul(a, b), RED);
    });
  }

  it('matmul of transposed large operands', () => {
    const a = R.randND(rng, [70, 33]);
    const b = R.randND(rng, [45, 70]);
    close(T(a).transpose().matmul(T(b).transpose()), R.matmul(R.transpose(a), R.transpose(b)), RED);
  });

  itExactInt32('int32 matmul is exact above 2^24', () => {
    const a = lg.tensor(
      [
        [16777217, 3],
        [-5, 100000],
      ],
      { dtype: 'int32' },
    );
    const b = lg.tensor(
      [
        [1, 2],
        [1, 100000],
      ],
      { dtype: 'int32' },
    );
    const c = a.matmul(b);
    expect(c.dtype).toBe('int32');
    expect(c.toArray()).toEqual([
      [16777220, (33554434 + 300000) | 0],
      [99995, (-10 + Math.imul(100000, 100000)) | 0],
    ]);
  });

  it('sum / max over axis 0 of a tall matrix and over a middle axis', () => {
    const a = R.randND(rng, [300, 7]);
    close(T(a).sum(0), R.sum(a, 0), RED);
    close(T(a).max(0), R.max(a, 0), RED);
    const b = R.randND(rng, [4, 200, 3]);
    close(T(b).sum(1), R.sum(b, 1), RED);
    close(T(b).min(1, true), R.min(b, 1, true), RED);
    close(T(b).mean([0, 2]), R.mean(b, [0, 2]), RED);
  });

  it('softmax / logsumexp over long rows', () => {
    const a = R.randND(rng, [5, 1000], -20, 20);
    close(T(a).softmax(), R.softmax(a, -1), RED);
    close(T(a).logSoftmax(), R.logSoftmax(a, -1), RED);
    close(T(a).logsumexp(1), R.logsumexp(a, 1), RED);
    close(T(a).softmax(0), R.softmax(a, 0), RED);
  });

  itExactInt32('int32 sum over a transposed view is exact', () => {
    const a = R.randIntND(rng, [50, 40], -100000000, 100000000);
    const t = T(a, 'int32');
    close(t.transpose().sum(1), R.sumI(R.transpose(a), 1), [0, 0]);
    close(t.sum(0), R.sumI(a, 0), [0, 0]);
  });

  it('conv2d with more channels', () => {
    const x = R.randND(rng, [2, 8, 12, 12]);
    const w = R.randND(rng, [16, 8, 3, 3]);
    close(lg.conv2d(T(x), T(w), { stride: 2, padding: 1 }), R.conv2d(x, w, 2, 1), RED);
  });

  it('argmax on a transposed view', () => {
    const a = R.randND(rng, [6, 9]);
    close(T(a).transpose().argmax(1), R.argmax(R.transpose(a), 1), [0, 0]);
    close(T(a).transpose().argmax(0), R.argmax(R.transpose(a), 0), [0, 0]);
  });
});

/**
 * take (numpy `take`), gather (numpy `take_along_axis`) and nn.embedding on
 * the current backend, against plain-JS references written here: every
 * axis, duplicate and negative indices, 0-d and empty cases, other dtypes,
 * broadcasting, fused chains, eager range errors and clamping under jit.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import { type ND, expectClose, mulberry32, nd, prod, ravel, unravel } from './reference';

type T = lg.Tensor;

/** numpy take: out[a..., b..., c...] = x[a..., wrap(idx[b...]), c...] (no axis: of the flattened x). */
function refTake(x: ND, idx: ND, axis?: number): ND {
  const src = axis === undefined ? { shape: [x.data.length], data: x.data } : x;
  const ax = axis === undefined ? 0 : axis < 0 ? axis + x.shape.length : axis;
  const n = src.shape[ax];
  const before = src.shape.slice(0, ax);
  const after = src.shape.slice(ax + 1);
  const shape = [...before, ...idx.shape, ...after];
  return nd(shape, (k) => {
    const p = unravel(k, shape);
    const i = idx.data[ravel(p.slice(before.length, before.length + idx.shape.length), idx.shape)];
    const at = [...p.slice(0, before.length), i < 0 ? i + n : i, ...p.slice(before.length + idx.shape.length)];
    return src.data[ravel(at, src.shape)];
  });
}

/** numpy take_along_axis with broadcasting on the other axes. */
function refTakeAlongAxis(x: ND, idx: ND, axis: number): ND {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const shape = x.shape.map((d, i) => (i === ax ? idx.shape[i] : Math.max(d, idx.shape[i])));
  const n = x.shape[ax];
  return nd(shape, (k) => {
    const p = unravel(k, shape);
    const i =
      idx.data[
        ravel(
          p.map((v, d) => (idx.shape[d] === 1 ? 0 : v)),
          idx.shape,
        )
      ];
    return x.data[
      ravel(
        p.map((v, d) => (d === ax ? (i < 0 ? i + n : i) : x.shape[d] === 1 ? 0 : v)),
        x.shape,
      )
    ];
  });
}

const rng = mulberry32(1234);
/** Float32 values in [-2, 2) as an ND and the tensor holding the same numbers. */
function floats(shape: number[]): [ND, T] {
  const a = nd(shape, () => Math.fround(rng() * 4 - 2));
  return [a, lg.tensor(Float32Array.from(a.data)).reshape(shape)];
}
function ints(shape: number[], values: number[]): [ND, T] {
  return [nd(shape, values), lg.tensor(Int32Array.from(values)).reshape(shape)];
}

describe('take', () => {
  const [xa, x] = floats([4, 3, 5]);
  for (const axis of [0, 1, 2, -1, -3]) {
    it(`axis ${axis}: duplicate and negative indices, 1-D and 2-D index tensors`, () => {
      const n = xa.shape[axis < 0 ? axis + 3 : axis];
      const flat = [n - 1, 0, -1, 1, 0, -n];
      for (const shape of [[6], [2, 3], [3, 2, 1]]) {
        const [ia, i] = ints(shape, flat);
        expectClose(lg.take(x, i, axis), refTake(xa, ia, axis), 0, 0, `take axis ${axis} indices ${shape}`);
      }
    });
  }
  it('no axis: indices into the flattened tensor', () => {
    const [ia, i] = ints([2, 2], [59, 0, -1, 17]);
    expectClose(lg.take(x, i), refTake(xa, ia), 0, 0);
    expectClose(x.take(i), refTake(xa, ia), 0, 0, 'method');
  });
  it('a 0-d index drops the axis; a number works as one', () => {
    const [ia, i] = ints([], [-2]);
    const got = lg.take(x, i, 1);
    expect(got.shape).toEqual([4, 5]);
    expectClose(got, refTake(xa, ia, 1), 0, 0);
    expectClose(lg.take(x, -2, 1), refTake(xa, ia, 1), 0, 0, 'number');
    expect(lg.take(x, 7).item()).toBe(xa.data[7]);
  });
  it('of a 0-d tensor (flattened: one element)', () => {
    const s = lg.tensor(3.5);
    expect(lg.take(s, 0).item()).toBe(3.5);
    expect(lg.take(s, lg.tensor([-1, 0, 0], { dtype: 'int32' })).toArray()).toEqual([3.5, 3.5, 3.5]);
  });
  it('empty indices, and an empty axis beside the indexed one', () => {
    const none = lg.tensor(new Int32Array(0));
    expect(lg.take(x, none, 1).shape).toEqual([4, 0, 5]);
    expect(lg.take(x, none, 1).dataSync().length).toBe(0);
    const empty = lg.zeros([0, 3]);
    const got = lg.take(empty, lg.tensor([2, -3], { dtype: 'int32' }), 1);
    expect(got.shape).toEqual([0, 2]);
    expect(lg.take(empty, none, 0).shape).toEqual([0, 3]);
  });
  it('int32 and bool tensors', () => {
    // int32 values read back exactly (gpujs keeps int32 exact below 2^24).
    const [ia, i] = ints([4], [1, -2, 2, 0]);
    const [va, v] = ints([3, 2], [7, -8, 16777215, -16777215, 5, 6]);
    const got = lg.take(v, i.slice([0], [3]), 0);
    expect(got.dtype).toBe('int32');
    expectClose(got, refTake(va, nd([3], ia.data.slice(0, 3)), 0), 0, 0);
    expect(got.toArray()).toEqual([
      [16777215, -16777215],
      [16777215, -16777215],
      [5, 6],
    ]);
    const b = lg.tensor([true, false, true]);
    expect(lg.take(b, i).toArray()).toEqual([false, false, true, true]);
  });
  it('inside an elementwise chain and of a computed tensor', () => {
    const [ia, i] = ints([5], [1, 1, -4, 3, 0]);
    const got = lg.take(x.mul(2).exp(), i, 0).mul(0.5).add(1);
    const want = refTake(
      nd(xa.shape, (k) => Math.exp(2 * xa.data[k])),
      ia,
      0,
    );
    expectClose(
      got,
      nd(want.shape, (k) => want.data[k] * 0.5 + 1),
      1e-5,
      1e-6,
    );
    // Of a transposed view, and indices that are themselves computed.
    const idx = lg.tensor([0, 1, 2], { dtype: 'int32' }).mul(2).sub(2); // [-2, 0, 2]
    const t = x.transpose([2, 0, 1]);
    const ta = nd([5, 4, 3], (k) => {
      const [a, b, c] = unravel(k, [5, 4, 3]);
      return xa.data[ravel([b, c, a], xa.shape)];
    });
    expectClose(lg.take(t, idx, 0), refTake(ta, nd([3], [-2, 0, 2]), 0), 0, 0);
  });
});

describe('gather (take_along_axis)', () => {
  const [xa, x] = floats([3, 4, 2]);
  for (const axis of [0, 1, 2, -1]) {
    it(`axis ${axis}: same shape, a longer and a shorter axis`, () => {
      const ax = axis < 0 ? axis + 3 : axis;
      const n = xa.shape[ax];
      for (const m of [1, n, n + 2]) {
        const shape = xa.shape.map((d, i) => (i === ax ? m : d));
        const vals = Array.from({ length: prod(shape) }, (_, k) => ((k * 7) % (2 * n)) - n);
        const [ia, i] = ints(shape, vals);
        expectClose(x.gather(axis, i), refTakeAlongAxis(xa, ia, axis), 0, 0, `axis ${axis} m ${m}`);
        expectClose(lg.gather(x, axis, i), refTakeAlongAxis(xa, ia, axis), 0, 0, 'function');
      }
    });
  }
  it('broadcasts indices and x on the other axes (argmax-style picks)', () => {
    const [ia, i] = ints([1, 2, 1], [3, -1]);
    expectClose(x.gather(1, i), refTakeAlongAxis(xa, ia, 1), 0, 0);
    const [ra, r] = floats([3, 1]);
    const [ja, j] = ints([3, 4], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expectClose(r.gather(1, j), refTakeAlongAxis(ra, ja, 1), 0, 0);
    // The label's logit per row, as cross-entropy picks it.
    const logits = lg.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const labels = lg.tensor([[2], [0]], { dtype: 'int32' });
    expect(logits.gather(1, labels).toArray()).toEqual([[3], [4]]);
  });
  it('empty indices along the axis', () => {
    expect(x.gather(2, lg.zeros([3, 4, 0], { dtype: 'int32' })).shape).toEqual([3, 4, 0]);
  });
});

describe('out-of-range indices', () => {
  const w = lg.tensor([
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  it('realised ones are an error at the call, naming the op, the index and the axis length', () => {
    const bad = lg.tensor([0, 3], { dtype: 'int32' });
    expect(() => lg.take(w, bad, 0)).toThrow(/take: index 3 .* axis 0 of length 3/);
    expect(() => lg.take(w, lg.tensor([-4], { dtype: 'int32' }), 0)).toThrow(/take: index -4 /);
    expect(() => lg.take(w, 6)).toThrow(/take: index 6 is out of range for axis 0 of length 6/);
    expect(() => w.gather(1, lg.tensor([[0], [2], [1]], { dtype: 'int32' }))).toThrow(/gather: index 2 .* length 2/);
    // Lazy (not yet realised) indices are computed and checked too.
    expect(() => lg.take(w, bad.add(1), 0)).toThrow(/take: index 4/);
  });
  it('a closure-constant index tensor inside jit is checked when traced', () => {
    const bad = lg.tensor([5], { dtype: 'int32' });
    expect(() => lg.jit((a: T) => lg.take(a, bad, 0))(w)).toThrow(/take: index 5/);
  });
  it('traced ones (jit arguments) clamp into the axis: below to the first, above to the last', () => {
    const f = lg.jit((a: T, i: T) => lg.take(a, i, 0));
    const i = lg.tensor([3, 100, -4, -100, -1, 1], { dtype: 'int32' });
    expect(f(w, i).toArray()).toEqual([
      [5, 6],
      [5, 6],
      [1, 2],
      [1, 2],
      [5, 6],
      [3, 4],
    ]);
    const g = lg.jit((a: T, j: T) => a.gather(1, j));
    expect(g(w, lg.tensor([[2], [-3], [1]], { dtype: 'int32' })).toArray()).toEqual([[2], [3], [6]]);
    // The gradient follows the clamped reads (one row of ones per read).
    const dw = lg.jit((a: T, j: T) => lg.grad((b: T) => lg.take(b, j, 0).sum())(a));
    expect(dw(w, lg.tensor([7, 7, -9], { dtype: 'int32' })).toArray()).toEqual([
      [1, 1],
      [0, 0],
      [2, 2],
    ]);
  });
});

describe('nn.embedding', () => {
  it('init: a [vocab, dim] float32 table of N(0, 1) draws, realised', () => {
    lg.manualSeed(3);
    const p = lg.nn.init.embedding(50, 8);
    expect(p.w.shape).toEqual([50, 8]);
    expect(p.w.dtype).toBe('float32');
    const v = Array.from(p.w.dataSync());
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(Math.abs(sd - 1)).toBeLessThan(0.15);
  });
  it('looks up one row per id, for ids of any shape, eagerly and in jit', () => {
    const [wa, w] = floats([6, 4]);
    const [ia, ids] = ints([2, 3], [5, 0, 5, -1, 2, 3]);
    const want = refTake(wa, ia, 0);
    expectClose(lg.nn.embedding({ w }, ids), want, 0, 0);
    expectClose(lg.jit((p: { w: T }, i: T) => lg.nn.embedding(p, i))({ w }, ids), want, 0, 0, 'jit');
  });
});

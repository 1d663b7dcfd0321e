/**
 * cumsum against a sequential float64 prefix sum, on the backend of the
 * vitest project: every axis of a 3-D tensor, rows of length 1 to past one
 * block (32) and past two levels of blocks (32² = 1024; 4,096 and 5,000
 * elements), int32 (exact, wrapping as `sum` does) and bool, under jit and
 * with fusion off, and its gradient (the reversed prefix sum of the
 * cotangent). Tolerance: float32 sums of n terms in another order than the
 * sequential one differ by rounding, about n · 6e-8 · Σ|terms| at worst:
 * each element is compared within 1e-6 · (1 + n / 64) of the running sum of
 * |x| (atol), plus 1e-5 relative.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import * as R from './reference';

const GPUJS = lg.getBackend() === 'gpujs';

/** Sequential prefix sums along `axis` (float64, or int32 with wrap-around), and the running sums of |x|. */
function cumsumRef(a: R.ND, axis: number, int = false): { sums: R.ND; scale: R.ND } {
  const ax = R.normAxis(axis, a.shape.length);
  const sums = R.nd(a.shape);
  const scale = R.nd(a.shape);
  const st = R.stridesOf(a.shape)[ax];
  for (let i = 0; i < a.data.length; i++) {
    const first = R.unravel(i, a.shape)[ax] === 0;
    const prev = first ? 0 : sums.data[i - st];
    sums.data[i] = int ? (prev + a.data[i]) | 0 : prev + a.data[i];
    scale.data[i] = (first ? 0 : scale.data[i - st]) + Math.abs(a.data[i]);
  }
  return { sums, scale };
}

/** Each element within 1e-5 relative + 1e-6 (1 + n/64) times its running sum of |x|. */
function expectPrefixSums(got: lg.Tensor, a: R.ND, axis: number): void {
  const { sums, scale } = cumsumRef(a, axis);
  const n = a.shape[R.normAxis(axis, a.shape.length)];
  const values = got.dataSync();
  expect(got.shape).toEqual(a.shape);
  const slack = 1e-6 * (1 + n / 64);
  const bad: string[] = [];
  for (let i = 0; i < sums.data.length && bad.length < 5; i++) {
    const want = sums.data[i];
    if (!(Math.abs(values[i] - want) <= 1e-5 * Math.abs(want) + slack * scale.data[i] + 1e-7))
      bad.push(`at ${i}: got ${values[i]}, expected ${want}`);
  }
  expect(bad, `cumsum axis ${axis} of [${a.shape}]`).toEqual([]);
}

describe('cumsum', () => {
  const rng = R.mulberry32(5);

  it('every axis of a [3, 4, 5] tensor, negative axes too', () => {
    const a = R.f32(R.randND(rng, [3, 4, 5], -2, 2));
    const x = lg.tensor(R.toNested(a));
    for (const axis of [0, 1, 2, -1, -3]) expectPrefixSums(x.cumsum(axis), a, axis);
  });

  it('no axis: the flattened tensor (numpy)', () => {
    const a = R.f32(R.randND(rng, [4, 6]));
    const got = lg.tensor(R.toNested(a)).cumsum();
    expectPrefixSums(got, R.reshape(a, [24]), 0);
  });

  for (const n of [1, 2, 31, 32, 33, 64, 100, 1023, 1024, 1025, 4096, 5000]) {
    it(`rows of ${n} (block boundaries at 32 and 32²), two rows`, () => {
      const a = R.f32(R.randND(rng, [2, n], -1, 1));
      const x = lg.tensor(R.toNested(a));
      expectPrefixSums(x.cumsum(1), a, 1);
      // A column scan too: the axis moved last and back.
      if (n <= 1025) expectPrefixSums(x.transpose().cumsum(0), R.transpose(a), 0);
    });
  }

  it('a constant row: 1, 2, ..., 4096 exactly (integers below 2^24 are exact in float32)', () => {
    const got = lg.ones([4096]).cumsum(0).dataSync();
    expect(Array.from(got)).toEqual(Array.from({ length: 4096 }, (_, i) => i + 1));
  });

  it.skipIf(GPUJS)('int32 is exact and wraps like sum; bool sums as int32', () => {
    const vals = [2147483000, 1000, -5, 7, -2147483648, 3];
    const got = lg.tensor(Int32Array.from(vals)).cumsum(0);
    expect(got.dtype).toBe('int32');
    expect(got.toArray()).toEqual(Array.from(cumsumRef(R.nd([6], vals), 0, true).sums.data));
    const b = lg.tensor([true, false, true, true]).cumsum(0);
    expect(b.dtype).toBe('int32');
    expect(b.toArray()).toEqual([1, 1, 2, 3]);
  });

  it('int32 rows longer than a block, exact', () => {
    const vals = Array.from({ length: 200 }, (_, i) => ((i * 7919) % 201) - 100);
    expect(lg.tensor(Int32Array.from(vals)).cumsum(0).toArray()).toEqual(
      Array.from(cumsumRef(R.nd([200], vals), 0, true).sums.data),
    );
  });

  it('under jit, fused and unfused, and with an elementwise producer and consumer', () => {
    const a = R.f32(R.randND(rng, [3, 300], -1, 1));
    const x = lg.tensor(R.toNested(a));
    for (const fusion of [true, false]) {
      const f = lg.jit((t: lg.Tensor) => t.cumsum(-1), { fusion });
      expectPrefixSums(f(x), a, 1);
    }
    const g = lg.jit((t: lg.Tensor) => t.mul(2).cumsum(-1).add(1));
    const { sums } = cumsumRef(
      R.map(a, (v) => 2 * v),
      1,
    );
    R.expectClose(
      g(x),
      R.map(sums, (v) => v + 1),
      1e-5,
      1e-4,
    );
  });

  it('gradient: d/dx sum(w · cumsum(x)) is the reversed prefix sum of w', () => {
    for (const n of [7, 100]) {
      const w = R.f32(R.randND(rng, [n], -1, 1));
      const W = lg.tensor(R.toNested(w));
      const g = lg.grad((t: lg.Tensor) => t.cumsum(0).mul(W).sum())(lg.zeros([n])) as lg.Tensor;
      const rev = R.nd([n], (i) => w.data.slice(i).reduce((s, v) => s + v, 0));
      R.expectClose(g, rev, 1e-5, 1e-5, `n ${n}`);
    }
  });

  it('empty axes give empty results', () => {
    expect(lg.zeros([0, 3]).cumsum(0).shape).toEqual([0, 3]);
    expect(lg.zeros([2, 0]).cumsum(1).shape).toEqual([2, 0]);
  });
});

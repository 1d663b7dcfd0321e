/**
 * var and std against a float64 reference (numpy's definition written out:
 * the mean of squared deviations, divided by N - ddof), on the backend of
 * the vitest project, over every axis set, keepdims, ddof 0/1/2, a large
 * mean against a small spread (where the one-pass E[x²] - E[x]² formula
 * would cancel), empty and too-small reductions. Tolerance: 1e-4 relative
 * and absolute, as the ops suite's reductions (float32 sums).
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import * as R from './reference';

const RED: [number, number] = [1e-4, 1e-4];

/** numpy var over `axes` of a reference array, with keepdims and ddof. */
function varRef(a: R.ND, axes: number[], keepdims: boolean, ddof: number): R.ND {
  const count = axes.reduce((n, d) => n * a.shape[d], 1);
  const m = R.mean(a, axes, true);
  const dev = R.sub(a, m);
  const ss = R.sum(R.mul(dev, dev), axes, keepdims);
  return R.map(ss, (v) => v / Math.max(count - ddof, 0));
}

const AXES: (number | number[] | undefined)[] = [undefined, 0, 1, 2, -1, [0, 2], [1, 2], [0, 1, 2]];

describe('var / std', () => {
  const rng = R.mulberry32(11);
  const a = R.f32(R.randND(rng, [3, 4, 5], -2, 3));
  const x = lg.tensor(R.toNested(a));
  for (const axis of AXES) {
    for (const keepdims of [false, true]) {
      it(`axis ${JSON.stringify(axis)} keepdims ${keepdims}, ddof 0, 1 and 2`, () => {
        const axes = axis === undefined ? [0, 1, 2] : R.normAxes(axis, 3);
        for (const ddof of [0, 1, 2]) {
          const v = varRef(a, axes, keepdims, ddof);
          R.expectClose(x.var(axis, keepdims, { ddof }), v, ...RED, `var ddof ${ddof}`);
          R.expectClose(x.std(axis, keepdims, { ddof }), R.map(v, Math.sqrt), ...RED, `std ddof ${ddof}`);
        }
      });
    }
  }

  it('ddof defaults to 0 (population variance); fractional ddof divides by N - ddof', () => {
    const t = lg.tensor([1, 2, 3, 4]);
    expect(t.var().item()).toBeCloseTo(1.25, 6);
    expect(t.var(0, false, { ddof: 1 }).item()).toBeCloseTo(5 / 3, 6);
    expect(t.std(undefined, false, { ddof: 1.5 }).item()).toBeCloseTo(Math.sqrt(5 / 2.5), 6);
  });

  it('two passes: a mean of 1e4 with a spread of 1e-2 keeps its variance', () => {
    const vals = Array.from({ length: 64 }, (_, i) => Math.fround(10000 + (i % 8) * 0.01 - 0.035));
    const ref = varRef(R.nd([64], vals), [0], false, 0).data[0];
    // E[x²] - E[x]² in float32 would be off by ~1e8 * 6e-8 = 6 (300 000 times the variance).
    expect(Math.abs((lg.tensor(vals).var().item() as number) - ref)).toBeLessThan(2e-3 * ref + 2e-7);
  });

  it('int32 and bool give float32', () => {
    const i = lg.tensor(Int32Array.from([1, 2, 3, 10]));
    expect(i.var().dtype).toBe('float32');
    expect(i.var().item()).toBeCloseTo(12.5, 5);
    expect(lg.tensor([true, false, true, true]).std().item()).toBeCloseTo(Math.sqrt(0.1875), 6);
  });

  // gpujs: Mesa folds 0 / x to 0 (GLSL leaves division by zero undefined), so 0 / 0 gives 0 there.
  it.skipIf(lg.getBackend() === 'gpujs')('N - ddof <= 0 gives Inf or NaN as numpy; an empty axis gives NaN', () => {
    const t = lg.tensor([3, 5]);
    expect(t.var(0, false, { ddof: 2 }).item()).toBe(Infinity);
    expect(lg.tensor([4]).var(0, false, { ddof: 1 }).item()).toBeNaN(); // 0 / 0
    expect(lg.zeros([0, 3]).var(0).toArray()).toEqual([NaN, NaN, NaN]);
  });

  it('a row variance under jit, fused and unfused', () => {
    const m = lg.tensor(R.toNested(a)).reshape([12, 5]);
    const want = varRef(R.reshape(a, [12, 5]), [1], false, 1);
    for (const fusion of [true, false]) {
      const f = lg.jit((t: lg.Tensor) => t.var(-1, false, { ddof: 1 }), { fusion });
      R.expectClose(f(m), want, ...RED, `fusion ${fusion}`);
    }
  });
});

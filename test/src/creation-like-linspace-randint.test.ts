/**
 * zerosLike, onesLike, linspace and randint against plain-JS references,
 * on the backend of the vitest project. linspace: numpy's
 * start + i * (stop - start) / (n - 1) in float64, rounded to float32
 * (1e-6 relative: the product is rounded once more on wasm and gpujs), the
 * endpoints exact. randint: each sample is floor(j · (high - low) / 2^24) +
 * low for the 24-bit integer j = u · 2^24 of the uniform u that rand draws
 * from the same generator state, computed exactly here in float64
 * (j · range < 2^48), so every backend must give exactly those integers.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import { expectClose } from './reference';

describe('zerosLike / onesLike', () => {
  it("take the tensor's shape and dtype, or the dtype given", () => {
    const x = lg.tensor(Int32Array.from([1, 2, 3, 4, 5, 6])).reshape([2, 3]);
    const z = lg.zerosLike(x);
    expect([z.shape, z.dtype, z.toArray()]).toEqual([
      [2, 3],
      'int32',
      [
        [0, 0, 0],
        [0, 0, 0],
      ],
    ]);
    const o = lg.onesLike(x, { dtype: 'float32' });
    expect([o.shape, o.dtype, o.toArray()]).toEqual([
      [2, 3],
      'float32',
      [
        [1, 1, 1],
        [1, 1, 1],
      ],
    ]);
    expect(lg.onesLike(lg.tensor([true, false])).toArray()).toEqual([true, true]);
    expect(lg.zerosLike(lg.tensor(2.5)).toArray()).toBe(0);
  });

  it('work on traced tensors inside jit', () => {
    const f = lg.jit((t: lg.Tensor) => t.add(lg.onesLike(t)));
    expect(f(lg.tensor([1, 2])).toArray()).toEqual([2, 3]);
  });
});

describe('linspace', () => {
  const ref = (start: number, stop: number, n: number) =>
    Array.from({ length: n }, (_, i) =>
      n > 1 && i === n - 1 ? stop : Math.fround(start + (i * (stop - start)) / (n - 1 || 1)),
    );

  for (const [start, stop, n] of [
    [0, 1, 5],
    [-3, 7, 11],
    [2, -2, 9],
    [0.1, 0.7, 50],
    [-1e6, 1e6, 1001],
    [5, 5, 4],
  ] as const) {
    it(`linspace(${start}, ${stop}, ${n})`, () => {
      const t = lg.linspace(start, stop, n);
      expect(t.dtype).toBe('float32');
      const want = ref(start, stop, n);
      expectClose(t, want, 1e-6, 1e-7 * Math.max(Math.abs(start), Math.abs(stop)));
      const v = t.dataSync();
      expect([v[0], v[n - 1]]).toEqual([Math.fround(start), Math.fround(stop)]);
    });
  }

  it('n defaults to 50; n = 1 is [start]; n = 0 is empty', () => {
    expect(lg.linspace(0, 49).shape).toEqual([50]);
    expect(lg.linspace(0, 49).dataSync()[17]).toBe(17);
    expect(lg.linspace(3, 9, 1).toArray()).toEqual([3]);
    expect(lg.linspace(3, 9, 0).toArray()).toEqual([]);
  });
});

describe('randint', () => {
  /** What randint must draw: rand's uniforms from the same generator state, scaled exactly. */
  function expected(seed: number, low: number, high: number, shape: number[]): number[] {
    lg.manualSeed(seed);
    const u = lg.rand(shape).dataSync();
    return Array.from(u, (v) => Math.floor((v * 2 ** 24 * (high - low)) / 2 ** 24) + low);
  }

  for (const [low, high] of [
    [0, 10],
    [-5, 5],
    [0, 2],
    [-1000000, 3000000],
    [100, 101],
    [-2147483648, -2147483648 + 2 ** 24],
  ] as const) {
    it(`randint(${low}, ${high}): in range, int32, exactly floor(u · range) + low`, () => {
      const want = expected(7, low, high, [3, 50]);
      lg.manualSeed(7);
      const r = lg.randint(low, high, [3, 50]);
      expect(r.dtype).toBe('int32');
      expect(r.shape).toEqual([3, 50]);
      const got = Array.from(r.dataSync());
      if (lg.getBackend() !== 'gpujs' || Math.abs(low) < 2 ** 24) expect(got).toEqual(want);
      expect(got.every((v) => v >= low && v < high)).toBe(true);
    });
  }

  it('covers the range about uniformly (20,000 draws of 0..9: every count within 5 sigma)', () => {
    lg.manualSeed(3);
    const counts = new Array(10).fill(0);
    for (const v of lg.randint(0, 10, [20000]).dataSync()) counts[v]++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(5 * Math.sqrt(2000 * 0.9));
  });

  it('draws fresh integers on every jit call, reproducibly under manualSeed', () => {
    const f = lg.jit(() => lg.randint(0, 1000, [64]));
    lg.manualSeed(11);
    const a = Array.from(f().dataSync());
    const b = Array.from(f().dataSync());
    expect(a).not.toEqual(b);
    lg.manualSeed(11);
    expect(Array.from(f().dataSync())).toEqual(a);
  });
});

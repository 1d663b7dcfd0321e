/**
 * floor, ceil, round, clip/clamp and the logical ops against plain-JS
 * references (numpy semantics written out here), on the backend of the
 * vitest project, eagerly and under jit, over edge values: ±0, ±Inf, NaN,
 * huge |x| (beyond 2^31, where a cast to int32 would wrap), ties for round.
 * These ops are exact, so results must match bit for bit (signed zeros
 * included) on js, wasm and the reference backend; gpujs stores values in
 * float32 textures and GL does not promise the sign of a zero result, so
 * there zeros compare by value, and GL flushes subnormal inputs to zero, so
 * there the subnormal edge values are left out.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

const GPUJS = lg.getBackend() === 'gpujs';

/** numpy's round, from its definition (nearest integer, ties to the even one, the sign of zero kept). */
function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const lower = Math.floor(x);
  const frac = x - lower;
  let r = frac > 0.5 ? lower + 1 : frac < 0.5 ? lower : lower % 2 === 0 ? lower : lower + 1;
  if (r === 0 && (x < 0 || Object.is(x, -0))) r = -0;
  return r;
}

/** float32 edge values: zeros, infinities, NaN, ties, near-ties, values past 2^23, 2^24 and 2^31. */
const EDGES = [
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  0.5,
  -0.5,
  1.5,
  -1.5,
  2.5,
  -2.5,
  3.5,
  -3.5,
  0.49999997,
  -0.49999997,
  0.50000006,
  0.25,
  -0.25,
  0.75,
  -0.75,
  1,
  -1,
  2.7,
  -2.7,
  1e-40,
  -1e-40,
  4194304.5,
  4194305.5,
  -4194305.5,
  8388607.5,
  -8388607.5,
  8388609,
  16777217,
  2147483904,
  -2147483904,
  3e9,
  -3e9,
  1e20,
  -1e20,
  3.4e38,
  -3.4e38,
]
  .map(Math.fround)
  .filter((v) => !GPUJS || v === 0 || !Number.isFinite(v) || Math.abs(v) >= 2 ** -126);

/** Same values: bit for bit, except that gpujs compares zeros by value. */
function expectSameValues(actual: ArrayLike<number>, expected: readonly number[], label: string): void {
  const got = Array.from(actual);
  const want = GPUJS ? expected.map((v) => (v === 0 ? 0 : v)) : [...expected];
  expect(GPUJS ? got.map((v) => (v === 0 ? 0 : v)) : got, label).toEqual(want);
}

describe('floor, ceil, round', () => {
  const refs: Record<'floor' | 'ceil' | 'round', (x: number) => number> = {
    floor: Math.floor,
    ceil: Math.ceil,
    round: roundHalfEven,
  };
  for (const op of ['floor', 'ceil', 'round'] as const) {
    it(`${op} over edge values, eagerly and under jit (vector lanes and tails)`, () => {
      // 41 values: whole 4-lane vectors and a tail on wasm.
      const x = lg.tensor(Float32Array.from(EDGES));
      const want = EDGES.map(refs[op]);
      expectSameValues(x[op]().dataSync(), want, `${op} eager`);
      expectSameValues(
        lg
          .jit((t: lg.Tensor) => t[op]())(x)
          .dataSync(),
        want,
        `${op} jit`,
      );
      expectSameValues(
        lg
          .jit((t: lg.Tensor) => t[op](), { fusion: false })(x)
          .dataSync(),
        want,
        `${op} unfused`,
      );
    });
  }

  it('round takes ties to even, as numpy (not half up as Math.round)', () => {
    const ties = [-4.5, -3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 4.5];
    expectSameValues(lg.tensor(ties).round().dataSync(), [-4, -4, -2, -2, -0, 0, 2, 2, 4, 4], 'ties');
  });

  it('fused inside an elementwise chain: round(x * 2.5) + floor(-x) - ceil(x / 3)', () => {
    // Quarters: x * 2.5 is exact (ties included) and x / 3 is an integer exactly or 1/12 away from one,
    // so float64 intermediates (js kernels) and float32 ones round alike.
    const xs = Array.from({ length: 37 }, (_, i) => -4.5 + i * 0.25);
    const x = lg.tensor(xs);
    const f = (t: lg.Tensor) => t.mul(2.5).round().add(t.neg().floor()).sub(t.div(3).ceil());
    const want = xs.map((v) => roundHalfEven(v * 2.5) + Math.floor(-v) - Math.ceil(v / 3));
    expectSameValues(lg.jit(f)(x).dataSync(), want, 'fused');
    expectSameValues(lg.jit(f, { fusion: false })(x).dataSync(), want, 'unfused');
  });

  it('int32 and bool operands come back as int32, unchanged (they are integers already)', () => {
    const i = lg.tensor(Int32Array.from([-7, 0, 5, 123456]));
    for (const op of ['floor', 'ceil', 'round'] as const) {
      const r = i[op]();
      expect(r.dtype).toBe('int32');
      expect(r.toArray()).toEqual([-7, 0, 5, 123456]);
    }
    const b = lg.tensor([true, false]).round();
    expect(b.dtype).toBe('int32');
    expect(b.toArray()).toEqual([1, 0]);
  });

  it('have zero gradient (also at the jumps)', () => {
    const x = lg.tensor([-1.5, -0.3, 0, 0.5, 2.5, 7.9]);
    for (const op of ['floor', 'ceil', 'round'] as const) {
      const g = lg.grad((t: lg.Tensor) => t[op]().mul(t).sum())(x) as lg.Tensor;
      // d/dx (op(x) * x) = op(x) where op' is 0.
      expect(Array.from(g.dataSync())).toEqual(Array.from(x[op]().dataSync()));
    }
  });
});

describe('clip / clamp', () => {
  const clipRef = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

  it('against numpy clip, NaN kept, infinities clipped', () => {
    const xs = [-Infinity, -5, -1, -0.5, 0, 0.25, 1, 3, Infinity, NaN];
    const x = lg.tensor(xs);
    const want = xs.map((v) => (Number.isNaN(v) ? NaN : clipRef(v, -1, 1)));
    expect(x.clip(-1, 1).toArray()).toEqual(want);
    expect(x.clamp(-1, 1).toArray()).toEqual(want);
  });

  it('one-sided with null or undefined, and tensor bounds that broadcast', () => {
    const x = lg.tensor([
      [-3, 0, 3],
      [5, -5, 1],
    ]);
    expect(x.clip(null, 1).toArray()).toEqual([
      [-3, 0, 1],
      [1, -5, 1],
    ]);
    expect(x.clip(0).toArray()).toEqual([
      [0, 0, 3],
      [5, 0, 1],
    ]);
    const lo = lg.tensor([-1, 0.5, 2]);
    const hi = lg.tensor([[0], [4]]);
    // numpy: clip(x, lo, hi) = minimum(maximum(x, lo), hi), broadcast.
    expect(x.clip(lo, hi).toArray()).toEqual([
      [-1, 0, 0],
      [4, 0.5, 2],
    ]);
  });

  it('min > max gives max everywhere, as numpy', () => {
    expect(lg.tensor([-5, 0, 5]).clip(2, 1).toArray()).toEqual([1, 1, 1]);
  });

  it('int32 stays int32 with integer bounds and promotes to float32 with fractional ones', () => {
    const i = lg.tensor(Int32Array.from([-9, 0, 9]));
    const c = i.clip(-2, 3);
    expect(c.dtype).toBe('int32');
    expect(c.toArray()).toEqual([-2, 0, 3]);
    const f = i.clip(-0.5, 2.5);
    expect(f.dtype).toBe('float32');
    expect(f.toArray()).toEqual([-0.5, 0, 2.5]);
  });

  it('gradient is 1 inside [min, max] (bounds included, as PyTorch) and flows to tensor bounds where taken', () => {
    const x = lg.tensor([-2, -1, 0, 1, 2]);
    expect((lg.grad((t: lg.Tensor) => t.clip(-1, 1).sum())(x) as lg.Tensor).toArray()).toEqual([0, 1, 1, 1, 0]);
    const lo = lg.tensor([0, 0, 0, 0, 0]);
    const [gx, glo] = lg.grad((t: lg.Tensor, l: lg.Tensor) => t.clip(l, 1).mul(t).sum(), { argnums: [0, 1] })(
      x,
      lo,
    ) as lg.Tensor[];
    // clip(x, lo, 1) * x: below lo the value is lo * x (d/dx = lo = 0, d/dlo = x); inside it is x^2; above, x.
    expect(gx.toArray()).toEqual([0, 0, 0, 2, 1]);
    expect(glo.toArray()).toEqual([-2, -1, 0, 0, 0]);
  });
});

describe('logicalAnd, logicalOr, logicalNot', () => {
  const truthy = (v: number) => v !== 0; // numpy: NaN is true

  it('truth tables on bool tensors', () => {
    const a = lg.tensor([true, true, false, false]);
    const b = lg.tensor([true, false, true, false]);
    expect(a.logicalAnd(b).toArray()).toEqual([true, false, false, false]);
    expect(a.logicalOr(b).toArray()).toEqual([true, true, true, false]);
    expect(a.logicalNot().toArray()).toEqual([false, false, true, true]);
  });

  it('numbers are true where non-zero (NaN included), numbers and booleans broadcast', () => {
    const xs = [0, -0, 1, -2.5, NaN, Infinity];
    const x = lg.tensor(xs);
    const y = lg.tensor(Int32Array.from([0, 3, 0, 7, 0, -1]));
    const r = x.logicalAnd(y);
    expect(r.dtype).toBe('bool');
    expect(r.toArray()).toEqual(xs.map((v, i) => truthy(v) && truthy([0, 3, 0, 7, 0, -1][i])));
    expect(x.logicalOr(false).toArray()).toEqual(xs.map(truthy));
    expect(x.logicalNot().toArray()).toEqual(xs.map((v) => !truthy(v)));
    expect(
      lg
        .tensor([[true], [false]])
        .logicalOr(lg.tensor([false, true, false]))
        .toArray(),
    ).toEqual([
      [true, true, true],
      [false, true, false],
    ]);
  });

  it('under jit, fused with a comparison', () => {
    const x = lg.tensor([-2, -1, 0, 1, 2, 3]);
    const inBand = lg.jit((t: lg.Tensor) => t.gt(-2).logicalAnd(t.lt(2)).logicalOr(t.eq(3)).logicalNot());
    expect(inBand(x).toArray()).toEqual([true, false, false, false, true, false]);
  });
});

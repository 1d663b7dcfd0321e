/**
 * erf and gelu (exact and tanh forms) against float64 references written
 * here, on the backend of the vitest project: dense grids, the tails (where
 * erfc and Φ(x), x < 0, are tiny and only a relative error means anything),
 * ±0, ±Inf, NaN and huge |x|.
 *
 * The float64 erf: the everywhere-positive series
 * erf(z) = 2/√π e^{-z²} Σ (2z²)^n / (1·3···(2n+1)) below z = 2 (no cancellation),
 * and the continued fraction erfc(z) = e^{-z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...))))
 * above, good to about 1e-14 relative.
 *
 * Tolerance: relative 1e-6 against the reference rounded to float32, no
 * absolute slack, so the tails are checked relatively (the implementation
 * measures ~2 float32 ulp, 2.4e-7, on wasm where every step rounds to
 * float32; js kernels compute in float64). gpujs (GL's exp is a few ulp off,
 * test/backends/gpujs/numerics.test.ts) is allowed 4e-6. Results below the
 * smallest normal float32 (1.2e-38) have fewer bits: 1e-44 absolute there;
 * GL flushes subnormal intermediates to zero, so on gpujs results below
 * about 1e-35 (computed through values below 1.2e-38) may be 0.
 * The tanh form's tail is ill-conditioned in float32 itself: its exponent
 * 2u reaches -66 at x = -9, so one ulp of u moves the value by 66 ulp; it
 * gets 1e-5 (2e-5 on gpujs). GL computes exp(x) as exp2(x · log2 e), so
 * for x near -80 the rounding of that product alone is 5e-6 relative: the
 * tails of both forms get 2e-5 on gpujs.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import { expectClose, nd } from './reference';

const GPUJS = lg.getBackend() === 'gpujs';
const RTOL = GPUJS ? 4e-6 : 1e-6;
const TANH_TAIL_RTOL = GPUJS ? 2e-5 : 1e-5;
const TAIL_RTOL = GPUJS ? 2e-5 : RTOL;
/** Below the smallest normal float32 a result has fewer bits. */
const SUBNORMAL_ATOL = GPUJS ? 1e-35 : 1e-44;

function erfBySeries(z: number): number {
  let term = z;
  let total = z;
  for (let n = 1; n < 1000 && term > 1e-17 * total; n++) {
    term *= (2 * z * z) / (2 * n + 1);
    total += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * total;
}

/** erfc(z) · e^{z²} for z >= 2, by the continued fraction (evaluated from its 400th level up). */
function scaledErfcByFraction(z: number): number {
  let tail = 0;
  for (let n = 400; n >= 1; n--) tail = n / 2 / (z + tail);
  return 1 / (z + tail) / Math.sqrt(Math.PI);
}

/** erfc(z) for z >= 0 with relative accuracy. */
function erfc64(z: number): number {
  if (z === Infinity) return 0;
  return z < 2 ? 1 - erfBySeries(z) : scaledErfcByFraction(z) * Math.exp(-z * z);
}

function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const z = Math.abs(x);
  const v = z < 2 ? erfBySeries(z) : 1 - erfc64(z);
  return x < 0 || Object.is(x, -0) ? -v : v;
}

/** Φ(x), the standard normal CDF, with relative accuracy in the lower tail. */
const normalCdf64 = (x: number) => (x < 0 ? 0.5 * erfc64(-x / Math.SQRT2) : 1 - 0.5 * erfc64(x / Math.SQRT2));
const gelu64 = (x: number) => (x === -Infinity ? 0 : x * normalCdf64(x));
/** PyTorch's tanh form 0.5 x (1 + tanh(u)), as x · sigmoid(2u) = x / (1 + e^{-2u}) (the same function). */
const geluTanh64 = (x: number) => {
  if (x === -Infinity) return 0;
  const u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3);
  return x / (1 + Math.exp(-2 * u));
};

const grid = (lo: number, hi: number, step: number) =>
  Array.from({ length: Math.floor((hi - lo) / step) + 1 }, (_, i) => Math.fround(lo + i * step));

function checkAgainst(
  f: (t: lg.Tensor) => lg.Tensor,
  ref: (x: number) => number,
  xs: number[],
  label: string,
  rtol = RTOL,
) {
  const got = f(lg.tensor(Float32Array.from(xs)));
  expectClose(
    got,
    nd(
      [xs.length],
      xs.map((x) => Math.fround(ref(x))),
    ),
    rtol,
    SUBNORMAL_ATOL,
    label,
  );
}

describe('the references themselves', () => {
  it('agree with tabulated values of erf and erfc and with each other where both apply', () => {
    // Abramowitz & Stegun table 7.1 and erfc(5) = 1.5374597944280348e-12.
    expect(erf64(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf64(1)).toBeCloseTo(0.8427007929497149, 15);
    expect(erf64(2)).toBeCloseTo(0.9953222650189527, 15);
    expect(Math.abs(erfc64(5) / 1.537459794428035e-12 - 1)).toBeLessThan(1e-13);
    for (const z of [2, 2.5, 3]) expect(scaledErfcByFraction(z) * Math.exp(-z * z)).toBeCloseTo(1 - erfBySeries(z), 13);
  });
});

describe('erf', () => {
  it('a dense grid over [-6, 6], both pieces and the switch at |x| = 0.5', () => {
    checkAgainst((t) => t.erf(), erf64, grid(-6, 6, 0.00397), 'erf grid');
    checkAgainst((t) => t.erf(), erf64, grid(0.49, 0.51, 0.0001), 'erf near 0.5');
  });

  it('odd, tiny arguments (erf(x) ~ 2x/√π, subnormals included), ±0, ±Inf, NaN, huge |x|', () => {
    const xs = [0, -0, 1e-30, -1e-30, 1e-40, 1e-7, 10, -10, 27, 1e30, -3.4e38, Infinity, -Infinity, NaN];
    const got = Array.from(lg.tensor(Float32Array.from(xs)).erf().dataSync());
    expectClose(
      got,
      xs.map((x) => Math.fround(erf64(x))),
      RTOL,
      SUBNORMAL_ATOL,
      'erf edges',
    );
    expect(Object.is(got[1], -0) || GPUJS).toBe(true);
  });

  it('int32 input computes in float32', () => {
    const r = lg.tensor(Int32Array.from([-1, 0, 2])).erf();
    expect(r.dtype).toBe('float32');
    expectClose(
      r,
      [-1, 0, 2].map((x) => Math.fround(erf64(x))),
      RTOL,
      0,
    );
  });
});

describe('gelu (exact: x Φ(x))', () => {
  it('a dense grid over [-8, 8]', () => {
    checkAgainst((t) => t.gelu(), gelu64, grid(-8, 8, 0.00513), 'gelu grid');
  });

  it('keeps its relative accuracy in the lower tail down to float32 underflow', () => {
    // gelu(-13) = -8e-38: Φ's tail through exp(-x²/2) without the rounding of x².
    checkAgainst((t) => t.gelu(), gelu64, grid(-13, -5, 0.01003), 'gelu tail', TAIL_RTOL);
  });

  it('±0, ±Inf, NaN and huge |x|: gelu(-Inf) is 0 (its limit), not -Inf * 0 = NaN', () => {
    const xs = [0, 40, 1e20, 3.4e38, Infinity, -20, -50, -1e20, -3.4e38, -Infinity, NaN];
    const got = Array.from(lg.tensor(Float32Array.from(xs)).gelu().dataSync());
    expectClose(
      got,
      xs.map((x) => Math.fround(gelu64(x))),
      RTOL,
      0,
      'gelu edges',
    );
  });
});

describe('gelu (approximate: the tanh form)', () => {
  it('equals PyTorch formula 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))) where that does not cancel', () => {
    const xs = grid(-3, 8, 0.0071);
    const pytorch = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    checkAgainst((t) => t.gelu({ approximate: true }), pytorch, xs, 'gelu tanh');
  });

  it('stays finite and accurate where 1 + tanh cancels (large negative x), and at the edges', () => {
    const tail = grid(-9, -3, 0.0107);
    checkAgainst((t) => t.gelu({ approximate: true }), geluTanh64, tail, 'gelu tanh tail', TANH_TAIL_RTOL);
    const xs = [0, 1e20, Infinity, -1e20, -Infinity, NaN];
    const got = Array.from(lg.tensor(Float32Array.from(xs)).gelu({ approximate: true }).dataSync());
    expectClose(
      got,
      xs.map((x) => Math.fround(geluTanh64(x))),
      RTOL,
      0,
      'gelu tanh edges',
    );
  });

  it('differs from the exact form by the approximation only (under 5e-4)', () => {
    const x = lg.tensor(Float32Array.from(grid(-6, 6, 0.01)));
    const gap = x
      .gelu()
      .sub(x.gelu({ approximate: true }))
      .abs()
      .max()
      .item() as number;
    expect(gap).toBeGreaterThan(1e-5);
    expect(gap).toBeLessThan(5e-4);
  });
});

describe('under jit, fused with other ops', () => {
  it('gelu(x * w + b) matches eager and the reference', () => {
    const xs = grid(-4, 4, 0.0313);
    const x = lg.tensor(Float32Array.from(xs));
    const f = (t: lg.Tensor) => t.mul(1.5).add(-0.25).gelu();
    const want = xs.map((v) => gelu64(Math.fround(Math.fround(v * 1.5) - 0.25)));
    expectClose(lg.jit(f)(x), want, 2 * RTOL, 1e-7, 'fused');
    expectClose(lg.jit(f, { fusion: false })(x), want, 2 * RTOL, 1e-7, 'unfused');
  });
});

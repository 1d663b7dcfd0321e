/**
 * silu, leakyRelu, softplus and logSigmoid against float64 references
 * written here, on the backend of the vitest project: grids, the float32
 * extremes (exp(±x) overflows beyond |x| = 88.7, so a naive log(1 + exp(x))
 * is Inf there and a naive -log(1 + exp(-x)) loses everything), ±0, ±Inf,
 * NaN. Tolerance: 2e-6 relative against the reference rounded to float32
 * (the transcendentals are a few ulp off on wasm and GL), and 1e-41
 * absolute (2^-136) for results below the smallest normal float32
 * (1.2e-38), which have fewer bits: silu(-100) = -100 · sigmoid(-100) is
 * computed from a subnormal sigmoid in float32. gpujs: GL flushes subnormal
 * intermediates to zero, so results below about 1e-35 (computed through
 * values below 1.2e-38) may be 0 there, and GL's exp and log are a few ulp
 * further off (4e-6).
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import { expectClose } from './reference';

const GPUJS = lg.getBackend() === 'gpujs';
const RTOL = GPUJS ? 4e-6 : 2e-6;
const SUBNORMAL_ATOL = GPUJS ? 1e-35 : 1e-41;

const sigmoid64 = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
/** log(1 + e^x): for x > 30, x + e^-x to float64 precision; Math.log1p keeps small values. */
const softplus64 = (x: number) => (x > 30 ? x + Math.exp(-x) : Math.log1p(Math.exp(x)));
const logSigmoid64 = (x: number) => -softplus64(-x);
const silu64 = (x: number) => (x === -Infinity ? 0 : x * sigmoid64(x));
const leakyRelu64 = (slope: number) => (x: number) => (x > 0 ? x : x * slope);

const EDGES = [0, -0, 1e-30, -1e-30, 0.5, -0.5, 20, -20, 88, -88, 100, -100, 1e4, -1e4, 3.4e38, -3.4e38];
const SPECIAL = [Infinity, -Infinity, NaN];
const grid = Array.from({ length: 2001 }, (_, i) => Math.fround(-30 + i * 0.03));

function check(f: (t: lg.Tensor) => lg.Tensor, ref: (x: number) => number, xs: readonly number[], label: string) {
  const got = f(lg.tensor(Float32Array.from(xs)));
  expectClose(
    got,
    xs.map((x) => Math.fround(ref(x))),
    RTOL,
    SUBNORMAL_ATOL,
    label,
  );
}

const CASES: [string, (t: lg.Tensor) => lg.Tensor, (x: number) => number][] = [
  ['silu', (t) => t.silu(), silu64],
  ['softplus', (t) => t.softplus(), softplus64],
  ['logSigmoid', (t) => t.logSigmoid(), logSigmoid64],
  ['leakyRelu', (t) => t.leakyRelu(), leakyRelu64(0.01)],
  ['leakyRelu(0.2)', (t) => t.leakyRelu(0.2), leakyRelu64(0.2)],
  ['leakyRelu(-0.5)', (t) => t.leakyRelu(-0.5), leakyRelu64(-0.5)],
];

describe('activations against float64 references', () => {
  for (const [name, f, ref] of CASES) {
    it(`${name}: grid over [-30, 30], extremes, ±0, ±Inf, NaN`, () => {
      check(f, ref, grid, `${name} grid`);
      check(f, ref, EDGES.map(Math.fround), `${name} edges`);
      check(f, ref, SPECIAL, `${name} Inf/NaN`);
    });
  }

  it('softplus and logSigmoid keep their relative accuracy where the naive forms fail', () => {
    // softplus(-80) = e^-80 = 1.8e-35, not 0; logSigmoid(87) = -e^-87, not 0 (1 + e^-87 is 1);
    // softplus(100) = 100, not Inf; logSigmoid(-100) = -100, not -Inf.
    const x = lg.tensor([-80, -50, 50, 87, 100]);
    const [rtol, atol] = GPUJS ? [RTOL, SUBNORMAL_ATOL] : [1e-6, 1e-44];
    expectClose(x.softplus(), [1.8048513878454153e-35, 1.9287498479639178e-22, 50, 87, 100], rtol, atol);
    expectClose(x.logSigmoid(), [-80, -50, -1.9287498479639178e-22, -1.6458114310822737e-38, -3.72e-44], rtol, atol);
  });

  it('under jit, fused and unfused', () => {
    const xs = grid.filter((_, i) => i % 7 === 0);
    const x = lg.tensor(Float32Array.from(xs));
    const f = (t: lg.Tensor) => [t.silu(), t.softplus().add(t.logSigmoid()), t.leakyRelu(0.1)];
    const want = [xs.map(silu64), xs.map((v) => softplus64(v) + logSigmoid64(v)), xs.map(leakyRelu64(0.1))];
    for (const fusion of [true, false]) {
      const outs = lg.jit(f, { fusion })(x) as lg.Tensor[];
      // softplus(x) + logSigmoid(x) = x: an absolute tolerance for the sum of two terms.
      outs.forEach((o, i) => expectClose(o, want[i], RTOL, i === 1 ? 1e-5 : 0, `fusion ${fusion} output ${i}`));
    }
  });

  it('int32 input computes in float32', () => {
    const r = lg.tensor(Int32Array.from([-3, 0, 4])).softplus();
    expect(r.dtype).toBe('float32');
    expectClose(r, [-3, 0, 4].map(softplus64), RTOL, 0);
  });
});

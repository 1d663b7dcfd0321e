/**
 * Gradients of the ops and layers of issue 15 by checkGrad (the analytic
 * gradient from the project's backend against float64 central differences
 * on js), inputs kept away from kinks and jumps so no difference step
 * crosses one; and their gradients at extreme inputs against hand-derived
 * values (finite, no NaN from an overflowing intermediate).
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import { distinct, expectClose, expectGradOk, flat, fromFlat, rand } from './helpers';

type T = lg.Tensor;

describe('elementwise ops: checkGrad', () => {
  it('gelu, exact and tanh forms, over [-4, 4]', () => {
    expectGradOk((x) => x.gelu(), [rand([3, 5], -4, 4)]);
    expectGradOk((x) => x.gelu({ approximate: true }), [rand([3, 5], -4, 4, 2)]);
  });
  it('erf across both of its pieces (|x| < 0.5 and beyond)', () => {
    expectGradOk((x) => x.erf(), [rand([4, 5], -3, 3)]);
  });
  it('silu, softplus, logSigmoid over [-6, 6]', () => {
    expectGradOk((x) => x.silu(), [rand([3, 4], -6, 6)]);
    expectGradOk((x) => x.softplus(), [rand([3, 4], -6, 6, 3)]);
    expectGradOk((x) => x.logSigmoid(), [rand([3, 4], -6, 6, 4)]);
  });
  it('leakyRelu away from 0, default slope and 0.2', () => {
    expectGradOk((x) => x.leakyRelu(), [distinct([3, 4], 5).add(0.05)]);
    expectGradOk((x) => x.leakyRelu(0.2), [distinct([3, 4], 6).add(0.05)]);
  });
  it('clip away from its bounds, with tensor bounds', () => {
    const x = distinct([4, 5], 7).add(0.05);
    expectGradOk((t) => t.clip(-0.6, 0.7), [x]);
    // Gradients to x and to both tensor bounds.
    expectGradOk(
      (t, lo, hi) => t.clip(lo, hi),
      [x, fromFlat([-0.52, -0.31, -0.12, 0.23, 0.01], [5]), fromFlat([0.62], [1])],
    );
  });
  it('floor, ceil and round away from their jumps: zero gradient both ways', () => {
    // Values -1.75, -1.45, ..., 1.55: at least 0.05 from every integer and half-integer.
    expectGradOk((x) => x.floor().add(x.ceil()).add(x.round()).mul(x), [distinct([3, 4], 8, 0.3).add(0.05)]);
  });
});

describe('reductions, scans and views: checkGrad', () => {
  for (const axis of [0, 1, [0, 1], undefined] as const) {
    it(`var / std axis ${JSON.stringify(axis)}, ddof 0 and 1`, () => {
      expectGradOk((x) => x.var(axis as number | number[] | undefined), [rand([3, 4])]);
      expectGradOk((x) => x.std(axis as number | number[] | undefined, true, { ddof: 1 }), [rand([3, 4], -1, 1, 2)]);
    });
  }
  it('cumsum along each axis, a row of one block and a row of several', () => {
    expectGradOk((x) => x.cumsum(0), [rand([3, 4])]);
    expectGradOk((x) => x.cumsum(-1), [rand([2, 5])]);
    expectGradOk((x) => x.cumsum(1), [rand([2, 70])]);
  });
  it('flip, tile, repeat', () => {
    expectGradOk((x) => x.flip([0, 2]), [rand([2, 3, 4])]);
    expectGradOk((x) => x.tile([2, 1, 3]), [rand([2, 3, 2])]);
    expectGradOk((x) => x.repeat(3, 1), [rand([2, 3, 2])]);
  });
});

describe('nn layers: checkGrad', () => {
  it('layerNorm with respect to x, g and b', () => {
    expectGradOk((x, g, b) => lg.nn.layerNorm({ g, b }, x), [rand([3, 6], -2, 2), rand([6], 0.5, 1.5, 2), rand([6])]);
  });
  it('batchNorm in training (batch statistics) and evaluation (running statistics)', () => {
    const stats = { mean: fromFlat([0.1, -0.2, 0.3], [3]), var: fromFlat([0.5, 1.5, 1], [3]) };
    for (const train of [true, false])
      expectGradOk(
        (x, g, b) => lg.nn.batchNorm({ g, b }, stats, x, { train })[0],
        [rand([4, 3, 2, 2], -2, 2), rand([3], 0.5, 1.5, 2), rand([3])],
      );
  });
  it('attention with respect to q, k and v, plain, masked and causal', () => {
    const args = () => [rand([2, 4, 3], -1, 1, 1), rand([2, 5, 3], -1, 1, 2), rand([2, 5, 2], -1, 1, 3)];
    expectGradOk((q, k, v) => lg.nn.attention(q, k, v), args());
    const mask = lg.tensor([[true, false, true, true, true]]);
    expectGradOk((q, k, v) => lg.nn.attention(q, k, v, { mask }), args());
    const square = () => [rand([1, 5, 3], -1, 1, 4), rand([1, 5, 3], -1, 1, 5), rand([1, 5, 2], -1, 1, 6)];
    expectGradOk((q, k, v) => lg.nn.attention(q, k, v, { causal: true }), square());
  });
  it('dropout with a fixed mask (the seed reset in every evaluation)', () => {
    expectGradOk(
      (x) => {
        lg.manualSeed(42);
        return lg.nn.dropout(x, 0.4);
      },
      [rand([4, 5])],
    );
  });
});

describe('gradients at extreme inputs', () => {
  const sig = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
  const xs = [-1000, -100, -30, 0, 30, 100, 1000];
  const grad = (f: (x: T) => T) => flat(lg.grad((x: T) => f(x).sum())(fromFlat(xs, [xs.length])));

  it('softplus: sigmoid(x); logSigmoid: sigmoid(-x) (1/2 at 0)', () => {
    expectClose(
      grad((x) => x.softplus()),
      xs.map(sig),
      1e-7,
      1e-6,
    );
    expectClose(
      grad((x) => x.logSigmoid()),
      xs.map((v) => sig(-v)),
      1e-7,
      1e-6,
    );
  });
  it('silu: sigmoid(x) (1 + x (1 - sigmoid(x))), 0 far below zero', () => {
    expectClose(
      grad((x) => x.silu()),
      xs.map((v) => sig(v) * (1 + v * (1 - sig(v)))),
      1e-7,
      1e-5,
    );
  });
  it('gelu: Φ(x) + x φ(x), finite at ±1000 (1 and 0)', () => {
    const g = grad((x) => x.gelu());
    expect(g.every(Number.isFinite)).toBe(true);
    expectClose([g[0], g[1], g[3], g[5], g[6]], [0, 0, 0.5, 1, 1], 1e-7, 1e-6);
    const ga = grad((x) => x.gelu({ approximate: true }));
    expect(ga.every(Number.isFinite)).toBe(true);
    expectClose([ga[0], ga[3], ga[6]], [0, 0.5, 1], 1e-7, 1e-6);
  });
  it('erf: 2/√π e^{-x²}, 0 (not NaN) at ±1000', () => {
    const g = grad((x) => x.erf());
    expectClose(
      g,
      xs.map((v) => (2 / Math.sqrt(Math.PI)) * Math.exp(-v * v)),
      1e-7,
      1e-6,
    );
  });
  it('std of a constant row: NaN as PyTorch (0 / 0), var: 0', () => {
    const c = fromFlat([2, 2, 2], [3]);
    expect(flat(lg.grad((x: T) => x.var())(c))).toEqual([0, 0, 0]);
    expect(flat(lg.grad((x: T) => x.std())(c)).every(Number.isNaN)).toBe(true);
  });
});

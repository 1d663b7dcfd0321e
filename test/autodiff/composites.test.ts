/**
 * Gradients of the composites built in src/ from primitives (softmax,
 * logsumexp, mean, min, relu, conv2d, pooling, cross-entropy); their
 * stability at extreme inputs against hand-derived values; and the
 * subgradient conventions at ties (split evenly) and at relu(0) (zero).
 */
import { describe, it, expect } from 'vitest';
import * as lg from '../../src/index';
import { rand, distinct, expectGradOk, expectClose, fromFlat, flat } from './helpers';

describe('composites: checkGrad', () => {
  for (const axis of [0, 1, -1]) {
    it(`softmax / logSoftmax axis ${axis}`, () => {
      expectGradOk((x) => x.softmax(axis), [rand([3, 4], -2, 2)]);
      expectGradOk((x) => x.logSoftmax(axis), [rand([3, 4], -2, 2)]);
    });
  }
  for (const [axis, keep] of [
    [0, false],
    [1, true],
    [-1, false],
    [[0, 1], false],
  ] as const) {
    it(`logsumexp axis ${JSON.stringify(axis)} keepdims ${keep}`, () => {
      expectGradOk((x) => x.logsumexp(axis as number | number[], keep), [rand([3, 4], -2, 2)]);
    });
  }
  for (const axis of [0, [1, 2], undefined]) {
    it(`mean axis ${JSON.stringify(axis)}`, () => {
      expectGradOk((x) => x.mean(axis), [rand([2, 3, 4])]);
      expectGradOk((x) => x.mean(axis, true), [rand([2, 3, 4])]);
    });
  }
  for (const axis of [0, 1, undefined]) {
    it(`min axis ${JSON.stringify(axis)} (no ties)`, () => {
      expectGradOk((x) => x.min(axis), [distinct([3, 4], 3)]);
    });
  }
  it('relu away from 0', () => {
    // distinct() includes 0; shift by half a gap to stay away from the kink.
    expectGradOk((x) => x.relu().mul(x), [distinct([3, 4], 4).add(0.05)]);
  });
  const convs: [string, number[], number[], { stride?: number; padding?: number }][] = [
    ['stride 1, no padding', [2, 2, 5, 5], [3, 2, 3, 3], {}],
    ['stride 2, padding 1', [2, 2, 5, 5], [3, 2, 3, 3], { stride: 2, padding: 1 }],
    ['stride 2, 2x2 kernel on 6x7', [1, 3, 6, 7], [2, 3, 2, 2], { stride: 2 }],
    ['stride 1, padding 2, 1x1 kernel', [1, 2, 3, 3], [2, 2, 1, 1], { padding: 2 }],
  ];
  for (const [name, sx, sw, opts] of convs) {
    it(`conv2d ${name}`, () => {
      expectGradOk((x, w) => lg.conv2d(x, w, opts), [rand(sx, -1, 1, 1), rand(sw, -1, 1, 2)]);
    });
  }
  it('conv2d with a bias and relu, as a layer', () => {
    const x = rand([1, 2, 4, 4], -1, 1, 7);
    expectGradOk(
      (w, b) =>
        lg
          .conv2d(x, w, { padding: 1 })
          .add(b.reshape([1, 2, 1, 1]))
          .tanh(),
      [rand([2, 2, 3, 3], -1, 1, 8), rand([2], -1, 1, 9)],
    );
  });
  const pools: [string, number, { stride?: number; padding?: number }][] = [
    ['kernel 2', 2, {}],
    ['kernel 3, stride 2, padding 1', 3, { stride: 2, padding: 1 }],
    ['kernel 2, stride 1 (overlapping)', 2, { stride: 1 }],
  ];
  for (const [name, k, opts] of pools) {
    it(`maxPool2d ${name} (no ties)`, () => {
      expectGradOk((x) => lg.maxPool2d(x, k, opts), [distinct([2, 2, 5, 5], 12)]);
    });
    it(`avgPool2d ${name}`, () => {
      expectGradOk((x) => lg.avgPool2d(x, k, opts), [rand([2, 2, 5, 5])]);
    });
  }
  it('cross-entropy via logSoftmax and oneHot of int32 labels', () => {
    const labels = lg.tensor(Int32Array.from([2, 0, 3]));
    const ce = (logits: lg.Tensor) => logits.logSoftmax(-1).mul(labels.oneHot(4)).sum(-1).mean().neg();
    const r = lg.checkGrad(ce, [rand([3, 4], -2, 2)]);
    expect(r.ok, `maxAbs=${r.maxAbsError}`).toBe(true);
    // Hand-derived: (softmax(logits) - onehot) / B.
    const logits = fromFlat([1, 2, 3, 0, 0, 0, 0, 0, -1, 0, 1, 2], [3, 4]);
    const g = lg.grad(ce)(logits);
    const expected: number[] = [];
    const lab = [2, 0, 3];
    for (let r = 0; r < 3; r++) {
      const row = flat(logits).slice(4 * r, 4 * r + 4);
      const z = row.reduce((s, v) => s + Math.exp(v), 0);
      row.forEach((v, j) => expected.push((Math.exp(v) / z - (j === lab[r] ? 1 : 0)) / 3));
    }
    expectClose(g, expected, 1e-6);
  });
});

/** Softmax in float64 with the max shift. */
function softmax64(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

describe('stability at extreme inputs', () => {
  it('sigmoid at ±100: finite, s(1-s)', () => {
    const x = fromFlat([100, -100, 0, 3], [4]);
    const g = flat(lg.grad((x: lg.Tensor) => x.sigmoid().sum())(x));
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const expected = [100, -100, 0, 3].map((v) => sig(v) * (1 - sig(v)));
    expectClose(g, expected, 1e-7, 1e-5);
  });
  it('tanh at ±100: finite, 1 - tanh^2', () => {
    const x = fromFlat([100, -100, 0, 0.5], [4]);
    const g = flat(lg.grad((x: lg.Tensor) => x.tanh().sum())(x));
    expectClose(
      g,
      [100, -100, 0, 0.5].map((v) => 1 - Math.tanh(v) ** 2),
      1e-7,
      1e-5,
    );
  });
  const rows = [1000, 999, -1000, 998, -1000, -1000, -999, -1000.5];
  const w = [1, -2, 3, 0.5, -1, 2, 1, -0.5];
  const X = () => fromFlat(rows, [2, 4]);
  const W = () => fromFlat(w, [2, 4]);
  it('softmax at ±1000: finite values and gradient s * (w - <s, w>)', () => {
    const Wt = W();
    const y = X().softmax(-1);
    expectClose(y, [...softmax64(rows.slice(0, 4)), ...softmax64(rows.slice(4))], 1e-6);
    const g = lg.grad((x: lg.Tensor) => x.softmax(-1).mul(Wt).sum())(X());
    const expected: number[] = [];
    for (let r = 0; r < 2; r++) {
      const s = softmax64(rows.slice(4 * r, 4 * r + 4));
      const wr = w.slice(4 * r, 4 * r + 4);
      const sw = s.reduce((a, v, j) => a + v * wr[j], 0);
      s.forEach((v, j) => expected.push(v * (wr[j] - sw)));
    }
    expectClose(g, expected, 1e-6, 1e-4);
  });
  it('logSoftmax at ±1000: gradient w - s * sum(w)', () => {
    const Wt = W();
    const g = lg.grad((x: lg.Tensor) => x.logSoftmax(-1).mul(Wt).sum())(X());
    const expected: number[] = [];
    for (let r = 0; r < 2; r++) {
      const s = softmax64(rows.slice(4 * r, 4 * r + 4));
      const wr = w.slice(4 * r, 4 * r + 4);
      const sumw = wr.reduce((a, b) => a + b, 0);
      s.forEach((v, j) => expected.push(wr[j] - v * sumw));
    }
    expectClose(g, expected, 1e-6, 1e-4);
  });
  it('logsumexp at ±1000: value finite, gradient softmax', () => {
    const y = X().logsumexp(-1);
    const lse = (xs: number[]) => {
      const m = Math.max(...xs);
      return m + Math.log(xs.reduce((a, v) => a + Math.exp(v - m), 0));
    };
    expectClose(y, [lse(rows.slice(0, 4)), lse(rows.slice(4))], 1e-3, 1e-6);
    const g = lg.grad((x: lg.Tensor) => x.logsumexp(-1).sum())(X());
    expectClose(g, [...softmax64(rows.slice(0, 4)), ...softmax64(rows.slice(4))], 1e-6);
    // Two equal huge entries split evenly; one dominant takes everything.
    expectClose(
      lg.grad((x: lg.Tensor) => x.logsumexp(-1).sum())(fromFlat([1000, 1000, 1000, -1000], [2, 2])),
      [0.5, 0.5, 1, 0],
    );
    expectClose(lg.grad((x: lg.Tensor) => x.logsumexp(-1).sum())(fromFlat([-1000, -1000], [2])), [0.5, 0.5]);
  });
});

describe('subgradients at ties', () => {
  it('max reduction splits evenly among tied elements', () => {
    expectClose(lg.grad((x: lg.Tensor) => x.max())(fromFlat([1, 3, 3, 2], [4])), [0, 0.5, 0.5, 0]);
    const x = fromFlat([2, 2, 2, 1, 4, 4], [2, 3]);
    const third = 1 / 3;
    expectClose(lg.grad((x: lg.Tensor) => x.max(1).sum())(x), [third, third, third, 0, 0.5, 0.5]);
    expectClose(lg.grad((x: lg.Tensor) => x.max(1, true).sum())(x), [third, third, third, 0, 0.5, 0.5]);
    // Over axis 0: columns (2,1) (2,4) (2,4) have no ties; weighted by 1, 10, 100.
    const w = fromFlat([1, 10, 100], [3]);
    expectClose(lg.grad((x: lg.Tensor) => x.max(0).mul(w).sum())(x), [1, 0, 0, 0, 10, 100]);
    // Whole-tensor max with the maximum 4 tied twice.
    expectClose(lg.grad((x: lg.Tensor) => x.max())(x), [0, 0, 0, 0, 0.5, 0.5]);
  });
  it('min reduction splits evenly among tied elements', () => {
    expectClose(lg.grad((x: lg.Tensor) => x.min())(fromFlat([3, 1, 1, 2], [4])), [0, 0.5, 0.5, 0]);
  });
  it('maximum / minimum split ties evenly, also when broadcasting', () => {
    const a = fromFlat([1, 2, 3], [3]);
    const b = fromFlat([2], []);
    const both = { argnums: [0, 1] };
    const [ga, gb] = lg.grad((a: lg.Tensor, b: lg.Tensor) => a.maximum(b).sum(), both)(a, b) as lg.Tensor[];
    expectClose(ga, [0, 0.5, 1]);
    expectClose(gb, [1.5]);
    const [ha, hb] = lg.grad((a: lg.Tensor, b: lg.Tensor) => a.minimum(b).sum(), both)(a, b) as lg.Tensor[];
    expectClose(ha, [1, 0.5, 0]);
    expectClose(hb, [1.5]);
    const [sa, sb] = lg.grad((a: lg.Tensor, b: lg.Tensor) => a.maximum(b).sum(), both)(a, a) as lg.Tensor[];
    expectClose(sa, [0.5, 0.5, 0.5]);
    expectClose(sb, [0.5, 0.5, 0.5]);
    // maximum(x, x) as a function of one x: the halves add up to 1.
    expectClose(lg.grad((x: lg.Tensor) => x.maximum(x).sum())(a), [1, 1, 1]);
  });
  it('maxPool2d splits evenly among tied elements of a window', () => {
    // 4x4, kernel 2, stride 2: windows [[5,5],[5,5]], [[1,7],[7,0]], [[0,0],[3,0]], [[2,2],[2,1]].
    const x = fromFlat([5, 5, 1, 7, 5, 5, 7, 0, 0, 0, 2, 2, 3, 0, 2, 1], [1, 1, 4, 4]);
    const g = lg.grad((x: lg.Tensor) => lg.maxPool2d(x, 2).sum())(x);
    const third = 1 / 3;
    expectClose(g, [0.25, 0.25, 0, 0.5, 0.25, 0.25, 0.5, 0, 0, 0, third, third, 1, 0, third, 0]);
  });
  it("maxPool2d with overlapping windows adds each window's share", () => {
    // 3x3 with the maximum in the centre: all four 2x2 windows pick it.
    const x = fromFlat([1, 2, 3, 4, 9, 5, 6, 7, 8], [1, 1, 3, 3]);
    expectClose(lg.grad((x: lg.Tensor) => lg.maxPool2d(x, 2, { stride: 1 }).sum())(x), [0, 0, 0, 0, 4, 0, 0, 0, 0]);
  });
  it('maxPool2d with padding: padded cells never take a share', () => {
    // 2x2 input, kernel 2, padding 1: four windows, each holding one real element.
    const x = fromFlat([1, 1, 1, 1], [1, 1, 2, 2]);
    expectClose(lg.grad((x: lg.Tensor) => lg.maxPool2d(x, 2, { padding: 1 }).sum())(x), [1, 1, 1, 1]);
    // kernel 3, stride 1, padding 1 on [[1,2],[3,4]]: all four windows pick the 4.
    const y = fromFlat([1, 2, 3, 4], [1, 1, 2, 2]);
    expectClose(lg.grad((x: lg.Tensor) => lg.maxPool2d(x, 3, { stride: 1, padding: 1 }).sum())(y), [0, 0, 0, 4]);
  });
  it('relu has gradient 0 at exactly 0', () => {
    const x = fromFlat([-1, 0, 2, -0], [4]);
    expectClose(lg.grad((x: lg.Tensor) => x.relu().sum())(x), [0, 0, 1, 0]);
  });
  it('abs has gradient 0 at 0', () => {
    expectClose(lg.grad((x: lg.Tensor) => x.abs().sum())(fromFlat([-2, 0, 3], [3])), [-1, 0, 1]);
  });
});

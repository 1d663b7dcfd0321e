/**
 * nn.layerNorm, nn.batchNorm, nn.dropout and nn.attention against float64
 * references written here from PyTorch's definitions, on the backend of the
 * vitest project, eagerly and under jit. Tolerance: 1e-4 relative and
 * absolute (float32 reductions and matmuls of a few dozen terms, as the ops
 * suite's RED).
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import * as R from './reference';

const TOL: [number, number] = [1e-4, 1e-4];
const rng = R.mulberry32(99);
const T = (a: R.ND) => lg.tensor(R.toNested(a));
const rand = (shape: number[], lo = -1, hi = 1) => R.f32(R.randND(rng, shape, lo, hi));

/** (x - mean) / sqrt(var + eps) over the last axis, var biased; then * g + b. */
function layerNormRef(x: R.ND, g: R.ND, b: R.ND, eps: number): R.ND {
  const d = x.shape.length - 1;
  const m = R.mean(x, d, true);
  const c = R.sub(x, m);
  const v = R.mean(R.mul(c, c), d, true);
  return R.add(
    R.mul(
      R.div(
        c,
        R.map(v, (s) => Math.sqrt(s + eps)),
      ),
      g,
    ),
    b,
  );
}

describe('nn.layerNorm', () => {
  it('init gives gain 1 and bias 0', () => {
    const p = lg.nn.init.layerNorm(4);
    expect(p.g.toArray()).toEqual([1, 1, 1, 1]);
    expect(p.b.toArray()).toEqual([0, 0, 0, 0]);
  });

  for (const shape of [[7], [3, 16], [2, 3, 33]]) {
    it(`over the last axis of [${shape}], with a gain and bias, eps 1e-5 and 0.1`, () => {
      const x = rand(shape, -3, 5);
      const dim = shape[shape.length - 1];
      const g = rand([dim], 0.5, 1.5);
      const b = rand([dim]);
      const p = { g: T(g), b: T(b) };
      R.expectClose(lg.nn.layerNorm(p, T(x)), layerNormRef(x, g, b, 1e-5), ...TOL, 'eps default');
      R.expectClose(lg.nn.layerNorm(p, T(x), { eps: 0.1 }), layerNormRef(x, g, b, 0.1), ...TOL, 'eps 0.1');
      const jitted = lg.jit((q: typeof p, t: lg.Tensor) => lg.nn.layerNorm(q, t));
      R.expectClose(jitted(p, T(x)), layerNormRef(x, g, b, 1e-5), ...TOL, 'jit');
    });
  }

  it('a constant row normalises to the bias (no 0 / 0)', () => {
    const p = { g: lg.tensor([2, 2, 2]), b: lg.tensor([1, -1, 0.5]) };
    expect(lg.nn.layerNorm(p, lg.full([2, 3], 7)).toArray()).toEqual([
      [1, -1, 0.5],
      [1, -1, 0.5],
    ]);
  });
});

interface Stats {
  mean: R.ND;
  var: R.ND;
}

/** PyTorch's batch norm over every axis but 1: batch statistics (biased) in training, running ones otherwise. */
function batchNormRef(x: R.ND, g: R.ND, b: R.ND, s: Stats, train: boolean, momentum: number, eps: number) {
  const axes = x.shape.map((_, d) => d).filter((d) => d !== 1);
  const perChannel = (v: R.ND) =>
    R.reshape(
      v,
      x.shape.map((n, i) => (i === 1 ? n : 1)),
    );
  const count = axes.reduce((n, d) => n * x.shape[d], 1);
  let mean = perChannel(s.mean);
  let variance = perChannel(s.var);
  let next = s;
  if (train) {
    mean = R.mean(x, axes, true);
    const c = R.sub(x, mean);
    variance = R.mean(R.mul(c, c), axes, true);
    const flat = (v: R.ND) => R.reshape(v, [x.shape[1]]);
    const blend = (old: R.ND, batch: R.ND) => R.add(R.mul(old, 1 - momentum), R.mul(batch, momentum));
    next = {
      mean: blend(s.mean, flat(mean)),
      var: blend(
        s.var,
        R.map(flat(variance), (v) => (v * count) / (count - 1)),
      ),
    };
  }
  const y = R.add(
    R.mul(
      R.div(
        R.sub(x, mean),
        R.map(variance, (v) => Math.sqrt(v + eps)),
      ),
      perChannel(g),
    ),
    perChannel(b),
  );
  return { y, next };
}

describe('nn.batchNorm', () => {
  it('init gives [{g: 1, b: 0}, {mean: 0, var: 1}]', () => {
    const [p, s] = lg.nn.init.batchNorm(3);
    expect([p.g.toArray(), p.b.toArray(), s.mean.toArray(), s.var.toArray()]).toEqual([
      [1, 1, 1],
      [0, 0, 0],
      [0, 0, 0],
      [1, 1, 1],
    ]);
  });

  for (const shape of [
    [8, 3],
    [4, 3, 5],
    [2, 3, 4, 5],
  ]) {
    for (const train of [true, false]) {
      it(`[${shape}] train ${train}: output and running statistics as PyTorch`, () => {
        const x = rand(shape, -2, 4);
        const c = shape[1];
        const g = rand([c], 0.5, 1.5);
        const b = rand([c]);
        const s = { mean: rand([c]), var: rand([c], 0.5, 2) };
        const p = { g: T(g), b: T(b) };
        const stats = { mean: T(s.mean), var: T(s.var) };
        for (const [momentum, eps] of [
          [0.1, 1e-5],
          [0.3, 1e-3],
        ]) {
          const want = batchNormRef(x, g, b, s, train, momentum, eps);
          const [y, next] = lg.nn.batchNorm(p, stats, T(x), { train, momentum, eps });
          R.expectClose(y, want.y, ...TOL, 'y');
          R.expectClose(next.mean, want.next.mean, ...TOL, 'running mean');
          R.expectClose(next.var, want.next.var, ...TOL, 'running var (unbiased batch variance)');
        }
        const defaults = batchNormRef(x, g, b, s, train, 0.1, 1e-5);
        const step = lg.jit((q: typeof p, st: typeof stats, t: lg.Tensor) => lg.nn.batchNorm(q, st, t, { train }));
        const [y, next] = step(p, stats, T(x));
        R.expectClose(y, defaults.y, ...TOL, 'jit y');
        R.expectClose(next.var, defaults.next.var, ...TOL, 'jit running var');
      });
    }
  }

  it('running statistics carry no gradient; the output does', () => {
    const [p, s] = lg.nn.init.batchNorm(2);
    const x = T(rand([6, 2]));
    const [, grads] = lg.valueAndGrad((q: typeof p) => {
      const [y, next] = lg.nn.batchNorm(q, s, x, { train: true });
      return y
        .mul(lg.tensor([1, -2]))
        .sum()
        .add(next.mean.sum())
        .add(next.var.sum());
    })(p) as [lg.Tensor, typeof p];
    // d/db sum(y * w) = w * N; the statistics add nothing.
    R.expectClose(grads.b, [6, -12], 1e-5, 1e-5);
  });
});

describe('nn.dropout', () => {
  it('keeps each element with probability 1 - rate, scaled by 1 / (1 - rate)', () => {
    lg.manualSeed(5);
    const x = lg.ones([20000]);
    const y = Array.from(lg.nn.dropout(x, 0.3).dataSync());
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    // 14,000 expected; 5 sigma = 5 * sqrt(20000 * 0.3 * 0.7) = 324.
    expect(Math.abs(kept.length - 14000)).toBeLessThan(324);
  });

  it('keeps the elements whose uniform from rand is >= rate, reproducibly under manualSeed', () => {
    lg.manualSeed(8);
    const u = Array.from(lg.rand([50]).dataSync());
    lg.manualSeed(8);
    const x = T(rand([50], 1, 2));
    const y = lg.nn.dropout(x, 0.5).dataSync();
    const xs = x.dataSync();
    u.forEach((v, i) => expect(y[i]).toBe(v >= 0.5 ? Math.fround(xs[i] * 2) : 0));
  });

  it('is the identity with train false or rate 0', () => {
    const x = lg.tensor([1, 2, 3]);
    expect(lg.nn.dropout(x, 0.9, { train: false })).toBe(x);
    expect(lg.nn.dropout(x, 0)).toBe(x);
  });

  it('draws a fresh mask on every jit call (the random key is an implicit input)', () => {
    const f = lg.jit((t: lg.Tensor) => lg.nn.dropout(t, 0.5));
    const x = lg.ones([256]);
    lg.manualSeed(1);
    const a = Array.from(f(x).dataSync());
    const b = Array.from(f(x).dataSync());
    expect(a).not.toEqual(b);
    expect(f.traceCount).toBe(1);
    lg.manualSeed(1);
    expect(Array.from(f(x).dataSync())).toEqual(a);
  });

  it('gradient is the mask scaled by 1 / (1 - rate)', () => {
    lg.manualSeed(2);
    const x = lg.ones([64]);
    lg.manualSeed(2);
    const y = lg.nn.dropout(x, 0.25).dataSync();
    lg.manualSeed(2);
    const g = (lg.grad((t: lg.Tensor) => lg.nn.dropout(t, 0.25).sum())(x) as lg.Tensor).dataSync();
    expect(Array.from(g)).toEqual(Array.from(y));
  });
});

/** softmax(q kᵀ / √d + masked -Inf) v per batch entry; mask[i][j] true keeps a score. */
function attentionRef(q: R.ND, k: R.ND, v: R.ND, keep?: (b: number, i: number, j: number) => boolean): R.ND {
  const [B, Tq, d] = q.shape;
  const [, Tk, dv] = v.shape;
  return R.nd([B, Tq, dv], (flat) => {
    const [b, i, c] = R.unravel(flat, [B, Tq, dv]);
    const scores = Array.from({ length: Tk }, (_, j) => {
      if (keep && !keep(b, i, j)) return -Infinity;
      let s = 0;
      for (let t = 0; t < d; t++) s += R.get(q, [b, i, t]) * R.get(k, [b, j, t]);
      return s / Math.sqrt(d);
    });
    const m = Math.max(...scores);
    const e = scores.map((s) => Math.exp(s - m));
    const z = e.reduce((p, w) => p + w, 0);
    return e.reduce((p, w, j) => p + (w / z) * R.get(v, [b, j, c]), 0);
  });
}

describe('nn.attention', () => {
  const q = rand([2, 5, 8]);
  const k = rand([2, 6, 8]);
  const v = rand([2, 6, 3]);

  it('softmax(q kᵀ / √d) v', () => {
    R.expectClose(lg.nn.attention(T(q), T(k), T(v)), attentionRef(q, k, v), ...TOL);
  });

  it('a bool mask keeps the scores where it is true (broadcast over the batch)', () => {
    const keep = (_b: number, i: number, j: number) => (i + 2 * j) % 3 !== 0;
    const mask = lg.tensor(Array.from({ length: 5 }, (_, i) => Array.from({ length: 6 }, (_, j) => keep(0, i, j))));
    R.expectClose(lg.nn.attention(T(q), T(k), T(v), { mask }), attentionRef(q, k, v, keep), ...TOL);
  });

  it('causal: query i sees keys j <= i (top-left aligned); combined with a mask', () => {
    const qs = rand([2, 6, 8]);
    const causal = (_b: number, i: number, j: number) => j <= i;
    R.expectClose(lg.nn.attention(T(qs), T(k), T(v), { causal: true }), attentionRef(qs, k, v, causal), ...TOL);
    const padding = lg.tensor([[[true, true, true, true, false, false]], [[true, true, true, true, true, true]]]);
    const both = (b: number, i: number, j: number) => j <= i && (b === 1 || j < 4);
    R.expectClose(
      lg.nn.attention(T(qs), T(k), T(v), { causal: true, mask: padding }),
      attentionRef(qs, k, v, both),
      ...TOL,
    );
  });

  it('multi-head [B, H, T, d] operands under jit, fused and unfused', () => {
    const q4 = rand([2, 3, 4, 8]);
    const k4 = rand([2, 3, 4, 8]);
    const v4 = rand([2, 3, 4, 8]);
    const want = R.reshape(
      attentionRef(R.reshape(q4, [6, 4, 8]), R.reshape(k4, [6, 4, 8]), R.reshape(v4, [6, 4, 8]), (_b, i, j) => j <= i),
      [2, 3, 4, 8],
    );
    for (const fusion of [true, false]) {
      const f = lg.jit((a: lg.Tensor, b: lg.Tensor, c: lg.Tensor) => lg.nn.attention(a, b, c, { causal: true }), {
        fusion,
      });
      R.expectClose(f(T(q4), T(k4), T(v4)), want, ...TOL, `fusion ${fusion}`);
    }
  });

  it('scores of ±1000 stay finite (the softmax is shifted by its row max)', () => {
    const big = lg.tensor([
      [
        [30, 0],
        [-30, 0],
      ],
    ]);
    const keys = lg.tensor([
      [
        [40, 0],
        [-40, 0],
        [0, 1],
      ],
    ]);
    const values = lg.tensor([[[1], [2], [3]]]);
    const out = lg.nn.attention(big, keys, values).dataSync();
    expect(Array.from(out).every(Number.isFinite)).toBe(true);
    expect(out[0]).toBeCloseTo(1, 5);
    expect(out[1]).toBeCloseTo(2, 5);
  });
});

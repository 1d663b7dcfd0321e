/**
 * gpujs results against the js backend (float32 storage, float64 math inside
 * a kernel). Pass when |gpujs - js| <= atol + rtol * |js| everywhere; NaN and
 * infinities must match exactly. Mesa llvmpipe computes in float32; its
 * + - * / and sqrt are correctly rounded, exp/log/sin/cos/pow are a few ulp
 * off. Measured on these inputs (values in [-1, 1] unless noted), the
 * tolerances are about twice the largest error seen:
 *
 *   op family                                      rtol    atol    measured atol needed at that rtol
 *   exact: + - * / compare where, movement ops,
 *          int32 below 2^24, rand                  0       0       0
 *   unary (exp log sqrt sin cos abs sign ...)       1e-6    2e-7    6.8e-8
 *   transcendental (tanh sigmoid log1p expm1 pow)   1e-6    4e-7    1.9e-7   (x in [-6, 6])
 *   elementwise chain over 20 inputs                1e-6    5e-7    2.1e-7
 *   reductions (sum/mean/max, <= 1,517 terms)       2e-6    2e-6    7.5e-7
 *   matmul (K = 96)                                 2e-6    3e-6    1.1e-6
 *   softmax / logSoftmax / logsumexp (x in [-8, 8]) 2e-6    1e-8    ~0
 *   conv2d / pools (K = 27)                         2e-6    6e-7    2.6e-7
 *   long reductions (66,000-120,000 terms, 2 passes) 4e-6   1e-5    0 (max rel error 1.4e-6)
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../../src/index';
import { expectLikeJs, gpujs, on, rnd, skipGpujs, values } from './helpers';

const TOL = {
  exact: [0, 0],
  unary: [1e-6, 2e-7],
  transcendental: [1e-6, 4e-7],
  chain: [1e-6, 5e-7],
  reduction: [2e-6, 2e-6],
  matmul: [2e-6, 3e-6],
  softmax: [2e-6, 1e-8],
  conv: [2e-6, 6e-7],
  long: [4e-6, 1e-5],
} as const;

describe.skipIf(skipGpujs)('gpujs numerics vs js', () => {
  it('unary ops (one fused kernel)', () => {
    const f = () => {
      const x = rnd([48, 33], 1, -3, 3);
      const p = x.abs().add(0.01);
      return lg.stack([x.neg(), x.abs(), x.sign(), x.exp(), p.log(), p.sqrt(), x.sin(), x.cos(), x.relu(), x.square()]);
    };
    expectLikeJs(f, ...TOL.unary, 'unary');
  });

  it('transcendental ops', () => {
    const f = () => {
      const x = rnd([48, 33], 2, -6, 6);
      return lg.stack([x.tanh(), x.sigmoid(), x.mul(0.1).log1p(), x.mul(0.1).expm1(), x.abs().pow(1.7), x.pow(3)]);
    };
    expectLikeJs(f, ...TOL.transcendental, 'transcendental');
  });

  it('binary ops with broadcasting, comparisons and where', () => {
    const f = () => {
      const a = rnd([5, 1, 33], 3);
      const b = rnd([4, 33], 4);
      const s = rnd([], 5);
      return [
        lg.stack([a.add(b), a.sub(b), a.mul(b), a.div(b.abs().add(0.5)), a.maximum(b), a.minimum(b), a.add(b).mul(s)]),
        lg.stack([a.lt(b), a.le(b), a.gt(b), a.ge(b), a.add(b).eq(b.add(a)), a.ne(b)]).cast('float32'),
        lg.where(a.gt(b), a, b.mul(2)),
      ];
    };
    expectLikeJs(f, ...TOL.exact, 'binary');
  });

  it('reductions over each axis, mean, max, argmax', () => {
    const f = () => {
      const x = rnd([37, 41, 5], 6);
      return [x.sum(0), x.sum(1), x.sum(), x.mean([0, 2]), x.max(1), x.max(), x.argmax(1).cast('float32')];
    };
    expectLikeJs(f, ...TOL.reduction, 'reductions');
  });

  it('matmul, batched matmul and a fused epilogue', () => {
    const f = () => {
      const a = rnd([64, 96], 7);
      const b = rnd([96, 40], 8);
      const c = rnd([3, 17, 23], 9);
      const d = rnd([3, 23, 11], 10);
      return [a.matmul(b), a.matmul(b).add(1).relu(), c.matmul(d)];
    };
    expectLikeJs(f, ...TOL.matmul, 'matmul');
  });

  it('softmax, logSoftmax, logsumexp', () => {
    const f = () => {
      const x = rnd([16, 50], 11, -8, 8);
      return [x.softmax(1), x.logSoftmax(1), x.logsumexp(0)];
    };
    expectLikeJs(f, ...TOL.softmax, 'softmax');
  });

  it('conv2d, maxPool2d, avgPool2d', () => {
    const f = () => {
      const x = rnd([2, 3, 12, 12], 12);
      const w = rnd([4, 3, 3, 3], 13);
      const y = lg.conv2d(x, w, { padding: 1 });
      return [
        y,
        lg.maxPool2d(y, 2),
        lg.avgPool2d(x, 3, { stride: 2, padding: 1 }),
        lg.maxPool2d(x, 3, { stride: 2, padding: 1 }),
      ];
    };
    expectLikeJs(f, ...TOL.conv, 'conv');
  });

  it('movement ops are exact: permute, strided slice, pad, concat, large flat indices', () => {
    const f = () => {
      const x = rnd([3, 5, 7, 11], 14);
      const big = lg
        .arange(1001 * 1003)
        .reshape([1001, 1003])
        .transpose();
      return [
        x.transpose([2, 0, 3, 1]),
        x.slice([1, null, 6], [3, null, 0], [1, 2, -2]),
        x.pad(
          [
            [0, 0],
            [2, 1],
            [0, 0],
            [3, 3],
          ],
          7,
        ),
        lg.concat([x, x.mul(2), x.slice([0, 0, 0, 0], [3, 5, 7, 2])], 3),
        big.slice([5, 900], [1003, 1001], [3, 1]),
      ];
    };
    expectLikeJs(f, ...TOL.exact, 'movement');
  });
});

describe.skipIf(skipGpujs)('gpujs long reductions (over the GL loop cap)', () => {
  it('sum and max of 100,000 elements, against a float64 sum', () => {
    const data = values(100_000, 21);
    let ref = 0;
    let mx = -Infinity;
    for (const v of data) {
      ref += v;
      mx = Math.max(mx, v);
    }
    const [s, m] = on('gpujs', () => {
      const x = lg.tensor(data);
      return [x.sum(), x.max()];
    });
    expect(Math.abs(s[0] - ref)).toBeLessThan(2e-3); // |ref| ~ 100: f32 accumulation over two passes
    expect(m[0]).toBe(Math.fround(mx));
    // A single-pass GL loop would stop near 65,535 terms: the sum of ones is exact.
    const [ones] = on('gpujs', () => lg.ones([100_000]).sum());
    expect(ones[0]).toBe(100_000);
  });

  it('long row reductions, multi-axis reductions and a long dot', () => {
    const f = () => {
      const x = rnd([3, 70_001], 22);
      const y = rnd([300, 401], 23);
      const a = rnd([2, 66_000], 24);
      const b = rnd([66_000, 3], 25);
      return [x.sum(1), x.max(1), x.softmax(1).sum(1), y.sum(), y.mean(), a.matmul(b)];
    };
    expectLikeJs(f, ...TOL.long, 'long');
  });
});

describe.skipIf(skipGpujs)('gpujs kernels near the input cap', () => {
  it('an expression over 20 tensors is split into kernels of at most 16 inputs', () => {
    const build = () => {
      const ts = Array.from({ length: 20 }, (_, i) => rnd([257], 100 + i));
      let acc = ts[0];
      for (let i = 1; i < 20; i++) acc = i % 3 === 0 ? acc.mul(ts[i]) : acc.add(ts[i].mul(i));
      return acc;
    };
    expectLikeJs(build, ...TOL.chain, 'wide');
    const fn = lg.jit((...xs: lg.Tensor[]) => xs.reduce((a, b) => a.add(b)), { backend: 'gpujs' });
    const args = Array.from({ length: 20 }, (_, i) => on('js', () => rnd([8], 200 + i))[0]);
    lg.setBackend('gpujs');
    try {
      const ts = args.map((a) => lg.tensor(Float32Array.from(a)));
      const fused = fn.lower(...ts).ir('fused');
      const reads = [...fused.matchAll(/\]\(([^)]*)\) over/g)].map(
        (m) => m[1].split(',').filter((s) => s.trim()).length,
      );
      expect(reads.length).toBeGreaterThan(1);
      expect(Math.max(...reads)).toBeLessThanOrEqual(16);
      const got = fn(...ts).dataSync();
      for (let i = 0; i < 8; i++) {
        const want = args.reduce((s, a) => s + a[i], 0);
        expect(Math.abs(got[i] - want)).toBeLessThan(1e-5);
      }
    } finally {
      lg.setBackend('js');
    }
  });
});

describe.skipIf(skipGpujs)('gpujs math edge cases', () => {
  it('pow with a negative base and integer exponents, zero and fractional exponents', () => {
    const [r] = on('gpujs', () => {
      const x = lg.tensor([-2, -2, -2, -3, -8, 0, 0, 2, -1.5]);
      const y = lg.tensor([3, 2, -1, 0, 1 / 3, -1, 0, 0.5, 4]);
      return x.pow(y);
    });
    expect(Array.from(r)).toEqual([-8, 4, -0.5, 1, NaN, Infinity, 1, Math.fround(Math.SQRT2), 5.0625]);
    // A fractional exponent goes through GL's pow: a few ulp.
    const [fr] = on('gpujs', () => lg.tensor([2, 10, 0.3]).pow(lg.tensor([0.3, -1.7, 2.5])));
    [2 ** 0.3, 10 ** -1.7, 0.3 ** 2.5].forEach((v, i) => expect(Math.abs(fr[i] - v)).toBeLessThanOrEqual(4e-7 * v));
    // A scalar exponent (a kernel argument): the same kernel for every value.
    const n0 = gpujs().compileCount;
    for (const e of [2, 3, 5]) {
      const [p] = on('gpujs', () => lg.tensor([-2, -1, 3]).pow(e));
      expect(Array.from(p)).toEqual([(-2) ** e, (-1) ** e, 3 ** e].map((v) => (e === 5 ? expect.closeTo(v, 4) : v)));
    }
    expect(gpujs().compileCount - n0).toBeLessThanOrEqual(2);
  });

  it('tanh and sigmoid of large |x|, tanh near 0', () => {
    const xs = [50, -50, 44, 1000, -1000, 1e-4, -3e-3, 0.2, 0];
    const [t, s] = on('gpujs', () => {
      const x = lg.tensor(xs);
      return [x.tanh(), x.sigmoid()];
    });
    xs.forEach((x, i) => {
      expect(t[i]).toBeCloseTo(Math.tanh(x), 7);
      if (Math.abs(x) < 1) expect(Math.abs(t[i] - Math.tanh(x))).toBeLessThanOrEqual(2e-7 * Math.abs(Math.tanh(x)));
      expect(s[i]).toBeCloseTo(1 / (1 + Math.exp(-x)), 7);
    });
    expect(t[0]).toBe(1);
    expect(t[1]).toBe(-1);
    expect(s[4]).toBe(0);
  });

  it('int32 arithmetic below 2^24 is exact', () => {
    const f = () => {
      const a = lg.tensor([16_000_000, -7, 4095, 123_456, -8_000_000, 3], { dtype: 'int32' });
      const b = lg.tensor([777_215, 3, 4097, -100, 7_999_999, -2], { dtype: 'int32' });
      return [
        a.add(b),
        a.sub(b),
        a.mul(lg.tensor([1, 5, 4096, -99, 2, 5_000_000], { dtype: 'int32' })),
        a.neg().abs(),
        a.maximum(b),
        a.cast('float32').div(b.cast('float32')),
        a.sum(),
      ];
    };
    const js = on('js', f);
    const gl = on('gpujs', f);
    expect(gl.map((x) => Array.from(x))).toEqual(js.map((x) => Array.from(x)));
    expect(Array.from(gl[0])).toEqual([16_777_215, -4, 8192, 123_356, -1, 1]);
  });

  it('division: exact quotients, division by zero', () => {
    const [q] = on('gpujs', () => lg.tensor([6, 9, 1, -1, 0, 1e6, 3]).div(lg.tensor([3, 3, 0, 0, 0, 1e3, 10])));
    expect(Array.from(q)).toEqual([2, 3, Infinity, -Infinity, NaN, 1000, Math.fround(0.3)]);
  });

  it('pad and concat read nothing out of bounds (edge values, empty pieces, empty tensors)', () => {
    const [p, c, e, z, s] = on('gpujs', () => {
      const x = lg.tensor([
        [1, 2],
        [3, 4],
      ]);
      return [
        x.pad(
          [
            [2, 2],
            [3, 1],
          ],
          -1,
        ),
        lg.concat([x, lg.tensor([[9], [8]])], 1),
        lg.concat([lg.zeros([0, 2]), x, lg.zeros([0, 2])], 0),
        lg.zeros([0, 3]).add(1),
        lg.zeros([3, 0]).add(1).sum(1),
      ];
    });
    expect(z.length).toBe(0);
    expect(Array.from(s)).toEqual([0, 0, 0]);
    const want = new Array(6 * 6).fill(-1);
    want[2 * 6 + 3] = 1;
    want[2 * 6 + 4] = 2;
    want[3 * 6 + 3] = 3;
    want[3 * 6 + 4] = 4;
    expect(Array.from(p)).toEqual(want);
    expect(Array.from(c)).toEqual([1, 2, 9, 3, 4, 8]);
    expect(Array.from(e)).toEqual([1, 2, 3, 4]);
  });

  it('maxPool with -inf padding and a window of padding only', () => {
    const [m] = on('gpujs', () => lg.maxPool2d(lg.tensor([[[[5]]]]), 2, { stride: 1, padding: 1 }));
    expect(Array.from(m)).toEqual([5, 5, 5, 5]);
  });
});

describe.skipIf(skipGpujs)('gpujs random numbers', () => {
  it('rand and randn match js exactly (rand) and to float32 rounding (randn) under manualSeed', () => {
    const f = () => {
      lg.manualSeed(1234);
      return [lg.rand([1000]), lg.rand([3, 7]), lg.randn([500])];
    };
    const js = on('js', f);
    const gl = on('gpujs', f);
    expect(Array.from(gl[0])).toEqual(Array.from(js[0]));
    expect(Array.from(gl[1])).toEqual(Array.from(js[1]));
    for (let i = 0; i < 500; i++)
      expect(Math.abs(gl[2][i] - js[2][i])).toBeLessThanOrEqual(4e-6 * Math.max(1, Math.abs(js[2][i])));
  });

  it('random inside jit matches js', () => {
    const g = (x: lg.Tensor) => x.add(lg.rand([64]));
    const run = (name: 'js' | 'gpujs') =>
      on(name, () => {
        lg.manualSeed(99);
        const fn = lg.jit(g);
        const x = lg.zeros([64]);
        return [fn(x), fn(x)];
      });
    const js = run('js');
    const gl = run('gpujs');
    expect(gl.map((x) => Array.from(x))).toEqual(js.map((x) => Array.from(x)));
    expect(Array.from(gl[0])).not.toEqual(Array.from(gl[1]));
  });
});

/** nn and optim against hand-computed values; jitted steps trace once; memory stays flat. */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

type T = lg.Tensor;
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i])));
};

describe('optim', () => {
  it('sgd without momentum: p - lr*g', () => {
    const opt = lg.optim.sgd({ lr: 0.1 });
    const p = { w: lg.tensor([1, -2]) };
    const [np] = opt.update({ w: lg.tensor([0.5, 1]) }, opt.init(p), p) as unknown as [{ w: T }];
    close(np.w.dataSync(), [0.95, -2.1]);
  });
  it('sgd with momentum follows v = m*v + g; p -= lr*v over three steps', () => {
    const opt = lg.optim.sgd({ lr: 0.1, momentum: 0.9 });
    let p: unknown = [lg.tensor([1])];
    let s = opt.init(p);
    const grads = [2, -1, 0.5];
    let v = 0;
    let ref = 1;
    for (const g of grads) {
      [p, s] = opt.update([lg.tensor([g])], s, p);
      v = 0.9 * v + g;
      ref -= 0.1 * v;
    }
    close((p as T[])[0].dataSync(), [ref]);
  });
  it('adam matches a hand-written reference over four steps (bias-corrected, eps outside the sqrt)', () => {
    const lr = 0.01,
      b1 = 0.9,
      b2 = 0.999,
      eps = 1e-8;
    const opt = lg.optim.adam({ lr, b1, b2, eps });
    let p: unknown = { x: lg.tensor([0.5, -1.5]) };
    let s = opt.init(p);
    const ref = [0.5, -1.5];
    const m = [0, 0],
      v = [0, 0];
    const gs = [
      [1, -2],
      [0.5, 0.25],
      [-1, 3],
      [2, 2],
    ];
    gs.forEach((g, t) => {
      [p, s] = opt.update({ x: lg.tensor(g) }, s, p);
      for (let i = 0; i < 2; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        const mh = m[i] / (1 - b1 ** (t + 1));
        const vh = v[i] / (1 - b2 ** (t + 1));
        ref[i] -= (lr * mh) / (Math.sqrt(vh) + eps);
      }
    });
    close((p as { x: T }).x.dataSync(), ref, 1e-5);
    expect(s.step.item()).toBe(4);
  });
  it('a jitted adam step traces once across steps', () => {
    const opt = lg.optim.adam({ lr: 0.1 });
    const step = lg.jit((p: T, st: ReturnType<typeof opt.init>) => {
      const g = lg.grad((q: T) => q.mul(q).sum())(p) as T;
      return opt.update(g, st, p);
    });
    let p: unknown = lg.tensor([3, -3]);
    let st = opt.init(p);
    for (let i = 0; i < 5; i++) [p, st] = step(p, st) as [unknown, typeof st];
    expect(step.traceCount).toBe(1);
    expect(Math.abs((p as T).dataSync()[0])).toBeLessThan(3);
  });
  it('rejects a bad learning rate', () => {
    expect(() => lg.optim.adam({ lr: -1 })).toThrow(lg.LazygradError);
  });
});

describe('nn', () => {
  it('initialisers have the SPEC shapes and are seeded', () => {
    lg.manualSeed(5);
    const a = lg.nn.init.linear(4, 3);
    expect(a.w.shape).toEqual([4, 3]);
    expect(a.b.shape).toEqual([3]);
    lg.manualSeed(5);
    expect(lg.nn.init.linear(4, 3).w.toArray()).toEqual(a.w.toArray());
    const c = lg.nn.init.conv2d(2, 5, 3);
    expect(c.w.shape).toEqual([5, 2, 3, 3]);
    expect(lg.nn.init.mlp([4, 8, 2]).map((p) => p.w.shape)).toEqual([
      [4, 8],
      [8, 2],
    ]);
    const bound = 1 / Math.sqrt(4);
    for (const v of a.w.dataSync()) expect(Math.abs(v)).toBeLessThanOrEqual(bound);
  });
  it('linear is x @ w + b', () => {
    const p = {
      w: lg.tensor([
        [1, 2],
        [3, 4],
      ]),
      b: lg.tensor([10, 20]),
    };
    expect(lg.nn.linear(p, lg.tensor([[1, 1]])).toArray()).toEqual([[14, 26]]);
  });
  it('crossEntropy is the batch mean of -log softmax at the label', () => {
    const logits = [
      [1, 2, 3],
      [1, -1, 0.5],
    ];
    const labels = [2, 0];
    const ref = logits.map((r, i) => {
      const lse = Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
      return lse - r[labels[i]];
    });
    const got = lg.nn.crossEntropy(lg.tensor(logits), lg.tensor(new Int32Array(labels))).item() as number;
    expect(got).toBeCloseTo((ref[0] + ref[1]) / 2, 5);
  });
  it('crossEntropy is stable at +-1000 and rejects float labels', () => {
    const v = lg.nn.crossEntropy(lg.tensor([[1000, -1000]]), lg.tensor(new Int32Array([1]))).item() as number;
    expect(v).toBeCloseTo(2000, 2);
    expect(() => lg.nn.crossEntropy(lg.tensor([[1, 2]]), lg.tensor([1]))).toThrow(lg.LazygradError);
  });
  it('mse and accuracy', () => {
    expect(lg.nn.mse(lg.tensor([1, 2]), lg.tensor([2, 4])).item()).toBeCloseTo(2.5, 6);
    expect(
      lg.nn
        .accuracy(
          lg.tensor([
            [0, 1],
            [1, 0],
            [0, 1],
          ]),
          lg.tensor(new Int32Array([1, 1, 1])),
        )
        .item(),
    ).toBeCloseTo(2 / 3, 6);
  });
  it('conv2d layer adds the bias per output channel', () => {
    const p = { w: lg.ones([2, 1, 1, 1]), b: lg.tensor([1, -1]) };
    const out = lg.nn.conv2d(p, lg.ones([1, 1, 2, 2])).toArray();
    expect(out).toEqual([
      [
        [
          [2, 2],
          [2, 2],
        ],
        [
          [0, 0],
          [0, 0],
        ],
      ],
    ]);
  });
});

describe('memory', () => {
  it('stays flat over many jit training steps (RSS growth < 10%)', () => {
    lg.manualSeed(2);
    let params: unknown = lg.nn.init.mlp([64, 32, 10]);
    const x = lg.rand([32, 64]).realize();
    const y = lg.tensor(new Int32Array(32).map((_, i) => i % 10));
    const opt = lg.optim.sgd({ lr: 0.05 });
    const step = lg.jit(
      (p: unknown) => {
        const [loss, g] = lg.valueAndGrad((q: unknown) => lg.nn.crossEntropy(lg.nn.mlp(q as never, x), y))(p) as [
          T,
          unknown,
        ];
        return [opt.update(g, opt.init(p), p)[0], loss];
      },
      { donate: [0] },
    );
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const [np, loss] = step(params) as [unknown, T];
        params = np;
        if (i % 50 === 0) loss.item();
      }
    };
    // Warm-up long enough for compiled kernels, the wasm thread pool and V8's heap to settle.
    run(800);
    global.gc?.();
    const before = process.memoryUsage().rss;
    run(1500);
    global.gc?.();
    const after = process.memoryUsage().rss;
    expect(after / before).toBeLessThan(1.1);
    expect(step.traceCount).toBe(1);
  });
});

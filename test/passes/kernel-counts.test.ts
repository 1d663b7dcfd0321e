/**
 * Fusion is a contract: kernel counts of small programs on the js backend,
 * with fusion on and off, read from jit(f).lower(...).stats().kernels.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

type T = lg.Tensor;
const kernels = (f: (...a: T[]) => unknown, args: T[], fusion = true) =>
  lg
    .jit(f as (...a: unknown[]) => unknown, { fusion })
    .lower(...args)
    .stats().kernels;

lg.manualSeed(1);
const x = lg.rand([64, 32]).realize();
const y = lg.rand([64, 32]).realize();
const w = lg.rand([64, 32]).realize();

const w2 = (v: T) => v.mul(1.5).add(0.5).tanh().mul(v.sigmoid()).add(v.mul(v));

describe('kernel counts with fusion (js)', () => {
  it('the W2 chain tanh(x*1.5+0.5)*sigmoid(x)+x*x is one kernel', () => expect(kernels(w2, [x])).toBe(1));
  it('sqrt(a*a+b*b) is one kernel', () => expect(kernels((a, b) => a.mul(a).add(b.mul(b)).sqrt(), [x, y])).toBe(1));
  it('a*(1-w)+b*w is one kernel', () =>
    expect(kernels((a, b, c) => a.mul(c.neg().add(1)).add(b.mul(c)), [x, y, w])).toBe(1));
  it('a+(b-a)*w is one kernel', () => expect(kernels((a, b, c) => a.add(b.sub(a).mul(c)), [x, y, w])).toBe(1));
  // One kernel: max, then sum of exp(x - max) kept in a row cache, then the row divided
  // (test/passes/row-cache.test.ts checks that exp runs once per element).
  it('a row softmax is one row kernel', () => expect(kernels((a) => a.softmax(-1), [x])).toBe(1));
  it('logsumexp is one kernel', () => expect(kernels((a) => a.logsumexp(-1), [x])).toBe(1));
  it('linear + bias + relu is one kernel', () => {
    const W = lg.rand([32, 16]).realize();
    const b = lg.rand([16]).realize();
    expect(kernels((a, m, c) => a.matmul(m).add(c).relu(), [x, W, b])).toBe(1);
  });
  it('views stay views: a transposed, sliced, reshaped input feeding an add is one kernel', () => {
    expect(kernels((a) => a.transpose().slice([0, 0], [32, 64], [2, 1]).reshape([-1]).add(1), [x])).toBe(1);
  });
  it('the forward+backward+SGD step of a 2-layer MLP', () => {
    lg.manualSeed(0);
    const params = lg.nn.init.mlp([32, 16, 10]);
    const labels = lg.tensor(new Int32Array(64).map((_, i) => i % 10));
    const opt = lg.optim.sgd({ lr: 0.1 });
    const step = (p: unknown, a: T, l: T) => {
      const [loss, g] = lg.valueAndGrad((q: unknown) => lg.nn.crossEntropy(lg.nn.mlp(q as never, a), l))(p) as [
        T,
        unknown,
      ];
      return [opt.update(g, opt.init(p), p)[0], loss];
    };
    const fused = lg
      .jit(step as (...a: unknown[]) => unknown)
      .lower(params, x, labels)
      .stats().kernels;
    const unfused = lg
      .jit(step as (...a: unknown[]) => unknown, { fusion: false })
      .lower(params, x, labels)
      .stats().kernels;
    // Recorded so regressions show: 13 fused kernels (linear+bias+relu, the second dot, the loss's
    // row kernels, three backward dots with the SGD update as epilogue, bias gradients + updates).
    expect(fused).toBe(13);
    expect(unfused).toBeGreaterThan(2 * fused);
  });
});

describe('kernel counts of the nn layers (js)', () => {
  const kernelLines = (f: (...a: T[]) => unknown, args: T[]) =>
    lg
      .jit(f as (...a: unknown[]) => unknown)
      .lower(...args)
      .ir('fused')
      .split('\n')
      .filter((l) => l.startsWith('kernel '));
  /** The ops of a kernel line: `kernel 1 k1_...: b4 = [div, exp, ...](b3) over [...]`. */
  const opsOf = (line: string) => line.slice(line.indexOf('[') + 1, line.indexOf(']')).split(', ');
  const q = lg.rand([2, 4, 16, 8]).realize();
  const k = lg.rand([2, 4, 16, 8]).realize();
  const v = lg.rand([2, 4, 16, 8]).realize();

  for (const [name, opts] of [
    ['plain', {}],
    ['causal', { causal: true }],
    ['masked', { mask: lg.rand([16, 16]).gt(0.3).realize() }],
  ] as const) {
    it(`attention (${name}): the scores' dot, one row kernel for the whole softmax, the dot with v`, () => {
      const lines = kernelLines((a, b, c) => lg.nn.attention(a, b, c, opts), [q, k, v]);
      expect(lines).toHaveLength(3);
      const [scores, softmax, mix] = lines.map(opsOf);
      expect(scores).toContain('dot');
      // max, then the sum of exp(s - max) (row-cached), then the division: all in one kernel, no dot in it.
      for (const op of ['max', 'exp', 'sum', 'div']) expect(softmax).toContain(op);
      expect(softmax).not.toContain('dot');
      expect(mix).toEqual(['dot']);
    });
  }

  it('a plain row softmax feeding a matmul is also a row kernel of its own', () => {
    const a = lg.rand([32, 64]).realize();
    const b = lg.rand([64, 16]).realize();
    const lines = kernelLines((s, m) => s.softmax(-1).matmul(m), [a, b]);
    expect(lines.map(opsOf)).toEqual([expect.arrayContaining(['max', 'exp', 'sum', 'div']), ['dot']]);
  });

  it('layerNorm is one row kernel', () => {
    const p = lg.nn.init.layerNorm(32);
    expect(kernels((a) => lg.nn.layerNorm(p, a), [x])).toBe(1);
  });
});

describe('kernel counts without fusion (js)', () => {
  it('the W2 chain runs one kernel per non-view primitive (>= 7)', () =>
    expect(kernels(w2, [x], false)).toBeGreaterThanOrEqual(7));
  it('views are not kernels: transpose+slice+reshape of an input is one copy kernel', () => {
    expect(kernels((a) => a.transpose().slice([0, 0], [32, 64], [2, 1]).reshape([-1]), [x], false)).toBe(1);
  });
  it('pad and concat are kernels when unfused, index expressions when fused', () => {
    const f = (a: T, b: T) =>
      lg
        .concat(
          [
            a.pad([
              [1, 1],
              [0, 0],
            ]),
            b,
          ],
          0,
        )
        .exp();
    expect(kernels(f, [x, y], false)).toBe(3);
    expect(kernels(f, [x, y], true)).toBe(1);
  });
});

describe('relu in training steps', () => {
  it('backward reads the mask from relu output, so linear + bias + relu stays one kernel', () => {
    const W = lg.rand([32, 16]).realize();
    const b = lg.rand([16]).realize();
    const loss = (m: T) => x.matmul(m).add(b).relu().sum();
    const fused = lg
      .jit(lg.valueAndGrad(loss) as (...a: unknown[]) => unknown)
      .lower(W)
      .ir('fused');
    expect(fused).toMatch(/kernel 0 [^\n]*\[where, (gt|le), add, dot/);
    // and the gradient is still right: d/dW sum(relu(xW + b)) = x^T (xW + b > 0)
    const g = (lg.grad(loss)(W) as T).dataSync();
    const pre = x.matmul(W).add(b).gt(0).cast('float32');
    const ref = x.transpose().matmul(pre).dataSync();
    for (let i = 0; i < ref.length; i++) expect(g[i]).toBeCloseTo(ref[i], 4);
  });
});

describe('buffer reuse', () => {
  it('lowers the planned peak bytes of an MLP training step', () => {
    lg.manualSeed(0);
    const params = lg.nn.init.mlp([784, 512, 10]);
    const xb = lg.rand([128, 784]).realize();
    const labels = lg.tensor(new Int32Array(128).map((_, i) => i % 10));
    const opt = lg.optim.sgd({ lr: 0.1 });
    const step = (p: unknown, a: T, l: T) => {
      const [loss, g] = lg.valueAndGrad((q: unknown) => lg.nn.crossEntropy(lg.nn.mlp(q as never, a), l))(p) as [
        T,
        unknown,
      ];
      return [opt.update(g, opt.init(p), p)[0], loss];
    };
    const f = step as (...a: unknown[]) => unknown;
    for (const fusion of [true, false]) {
      const withReuse = lg.jit(f, { fusion }).lower(params, xb, labels).stats().bytes;
      const without = lg.jit(f, { fusion, reuse: false }).lower(params, xb, labels).stats().bytes;
      expect(withReuse).toBeLessThan(without);
    }
  });
});

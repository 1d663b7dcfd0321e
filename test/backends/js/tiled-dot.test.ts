/**
 * The js code generator's register-tiled dot on kernels whose two tiled axes
 * are not the output's last two (a transposed product, a batch axis in the
 * middle, a convolution's channel and spatial axes), and the fusion rule that
 * stores a reduction read through a many-to-one view. Numbers are checked
 * against plain float64 loops written here.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../../src/index';

type T = lg.Tensor;

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 2e-5) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i] - b[i]), `element ${i}`).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i])));
};
const source = (f: (...a: T[]) => T, ...args: T[]) =>
  lg
    .jit(f)
    .lower(...args)
    .ir('kernels');
/** The tiled loop packs its operands into PA and PB. */
const tiled = (src: string) => src.includes('const PB = new Float64Array');

lg.manualSeed(11);

describe('tiled dot with the tile on any two output axes', () => {
  it('a product written transposed: out[n, m] = sum_k a[m, k] b[k, n]', () => {
    const a = lg.randn([13, 9]).realize();
    const b = lg.randn([9, 22]).realize();
    const f = (x: T, y: T) => x.matmul(y).transpose();
    expect(tiled(source(f, a, b))).toBe(true);
    const av = a.dataSync(),
      bv = b.dataSync();
    const ref: number[] = [];
    for (let n = 0; n < 22; n++)
      for (let m = 0; m < 13; m++) {
        let s = 0;
        for (let k = 0; k < 9; k++) s += av[m * 9 + k] * bv[k * 22 + n];
        ref.push(s);
      }
    close(lg.jit(f)(a, b).dataSync(), ref);
  });

  it('a batch axis between the tiled axes: out[m, batch, n] with an epilogue', () => {
    const a = lg.randn([5, 7, 6]).realize(); // [batch, m, k]
    const b = lg.randn([5, 6, 11]).realize(); // [batch, k, n]
    const f = (x: T, y: T) => x.matmul(y).transpose([1, 0, 2]).relu();
    expect(tiled(source(f, a, b))).toBe(true);
    const av = a.dataSync(),
      bv = b.dataSync();
    const ref: number[] = [];
    for (let m = 0; m < 7; m++)
      for (let bt = 0; bt < 5; bt++)
        for (let n = 0; n < 11; n++) {
          let s = 0;
          for (let k = 0; k < 6; k++) s += av[(bt * 7 + m) * 6 + k] * bv[(bt * 6 + k) * 11 + n];
          ref.push(Math.max(s, 0));
        }
    close(lg.jit(f)(a, b).dataSync(), ref);
  });

  it('conv2d (NCHW out, channel and spatial axes tiled) and its gradients', () => {
    const x = lg.randn([3, 4, 9, 10]).realize();
    const w = lg.randn([8, 4, 3, 3]).realize();
    const conv = (xi: T, wi: T) => lg.conv2d(xi, wi, { padding: 1 });
    expect(tiled(source(conv, x, w))).toBe(true);
    const xv = x.dataSync(),
      wv = w.dataSync();
    const X = (n: number, c: number, h: number, v: number) =>
      h < 0 || h >= 9 || v < 0 || v >= 10 ? 0 : xv[((n * 4 + c) * 9 + h) * 10 + v];
    const ref: number[] = [];
    for (let n = 0; n < 3; n++)
      for (let o = 0; o < 8; o++)
        for (let h = 0; h < 9; h++)
          for (let v = 0; v < 10; v++) {
            let s = 0;
            for (let c = 0; c < 4; c++)
              for (let i = 0; i < 3; i++)
                for (let j = 0; j < 3; j++) s += X(n, c, h + i - 1, v + j - 1) * wv[((o * 4 + c) * 3 + i) * 3 + j];
            ref.push(s);
          }
    close(lg.jit(conv)(x, w).dataSync(), ref);
    // d sum(conv * g) / dw[o, c, i, j] = sum over n, h, v of g * x shifted: a dot tiled over (o, c).
    const g = lg.randn([3, 8, 9, 10]).realize();
    const gv = g.dataSync();
    const dw = lg
      .jit((wi: T) => lg.grad((z: T) => conv(x, z).mul(g).sum())(wi) as T)(w)
      .dataSync();
    const dwRef: number[] = [];
    for (let o = 0; o < 8; o++)
      for (let c = 0; c < 4; c++)
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 3; j++) {
            let s = 0;
            for (let n = 0; n < 3; n++)
              for (let h = 0; h < 9; h++)
                for (let v = 0; v < 10; v++) s += gv[((n * 8 + o) * 9 + h) * 10 + v] * X(n, c, h + i - 1, v + j - 1);
            dwRef.push(s);
          }
    close(dw, dwRef, 1e-4);
  });
});

describe('reductions read through many-to-one views are stored', () => {
  it('a 2x2 max-pool gradient reads each pooled dot once, not four times', () => {
    const h = lg.randn([2, 3, 8, 8]).realize();
    const w = lg.randn([48, 20]).realize();
    // The loss runs the pooled features through a linear layer; its gradient reaches h through the pool.
    const loss = (z: T) => lg.maxPool2d(z, 2).reshape([2, 48]).matmul(w).tanh().sum();
    const g = lg.jit((z: T) => lg.grad(loss)(z) as T);
    // The backward dot (d pooled = d out . w^T: 2 x 48 values of 20 terms) is a kernel over [2,48]
    // of its own, not inlined into the pool gradient over [2,3,8,8], where it would run 4 times per value.
    const fused = g.lower(h).ir('fused');
    expect(fused).toMatch(/= \[dot[^\]]*\]\([^)]*\) over \[2,48\]/);
    expect(fused).not.toMatch(/\bdot\b[^\n]* over \[2,3,8,8\]/);
    // Numbers: central differences of the float64 mode would be heavy here; compare with the unfused plan.
    close(
      g(h).dataSync(),
      lg
        .jit((z: T) => lg.grad(loss)(z) as T, { fusion: false })(h)
        .dataSync(),
      1e-5,
    );
  });
});

/**
 * The wasm backend's register-tiled dot against a float64 reference: shapes
 * around the micro-kernel's 4x8 tile, padded panels, column blocks that do
 * not divide the packed width (long reductions make blocks narrow), batched
 * operands, and a fused bias + relu epilogue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lg from '../../../src/index';

function refMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p];
      for (let j = 0; j < n; j++) out[i * n + j] += x * b[p * n + j];
    }
  return out;
}

/** float32 products summed in float32: error grows with K (values in [0, 1)). */
const close = (got: ArrayLike<number>, want: ArrayLike<number>, k: number) => {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  expect(worst).toBeLessThan(4e-7 * Math.sqrt(k) + 1e-6);
};

describe('wasm dot (register-tiled)', () => {
  let before: string;
  beforeAll(() => {
    before = lg.getBackend();
    lg.setBackend('wasm');
  });
  afterAll(() => lg.setBackend(before));

  const shapes: [number, number, number][] = [
    [8, 8, 8],
    [9, 3, 17],
    [13, 50, 31],
    [4, 1000, 4],
    [20, 1024, 1000], // column blocks of 64 over 1000 columns: the last block is partial
    [33, 600, 300],
    [64, 257, 72],
  ];
  for (const [m, k, n] of shapes) {
    it(`${m}x${k} . ${k}x${n}`, () => {
      lg.manualSeed(m * 31 + n);
      const a = lg.rand([m, k]);
      const b = lg.rand([k, n]);
      const av = a.dataSync() as Float32Array;
      const bv = b.dataSync() as Float32Array;
      close(a.matmul(b).dataSync(), refMatmul(av, bv, m, k, n), k);
    });
  }

  it('fuses bias and relu into the tile epilogue, and handles a transposed operand', () => {
    const [m, k, n] = [30, 70, 45];
    lg.manualSeed(5);
    const a = lg.rand([k, m]).sub(0.5);
    const b = lg.rand([k, n]).sub(0.5);
    const bias = lg.rand([n]).sub(0.5);
    const f = lg.jit((x: lg.Tensor, w: lg.Tensor, c: lg.Tensor) => x.transpose().matmul(w).add(c).relu());
    const got = f(a, b, bias).dataSync();
    expect(f.lower(a, b, bias).stats().kernels).toBe(1);
    const at = new Float32Array(m * k);
    const av = a.dataSync();
    for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) at[j * k + i] = av[i * m + j];
    const want = refMatmul(at, b.dataSync() as Float32Array, m, k, n);
    const bv = bias.dataSync();
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) want[i * n + j] = Math.max(0, want[i * n + j] + bv[j]);
    close(got, want, k);
  });

  it('batched left operand', () => {
    const [batch, m, k, n] = [3, 12, 40, 20];
    lg.manualSeed(9);
    const a = lg.rand([batch, m, k]);
    const b = lg.rand([k, n]);
    const got = a.matmul(b).dataSync();
    const av = a.dataSync() as Float32Array;
    const bv = b.dataSync() as Float32Array;
    for (let i = 0; i < batch; i++)
      close(got.slice(i * m * n, (i + 1) * m * n), refMatmul(av.slice(i * m * k, (i + 1) * m * k), bv, m, k, n), k);
  });
});

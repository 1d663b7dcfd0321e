/**
 * Shared helpers for the autodiff suites: deterministic test data (a plain
 * JS generator, independent of the library's), a weighted-sum reduction so
 * every output element gets a distinct cotangent, and assertions.
 */
import { expect } from 'vitest';
import * as lg from '../../src/index';

import { mulberry32 as rng } from '../src/reference';

/** A small deterministic generator (mulberry32) so inputs do not depend on the library. */
export { rng };

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Values uniform in [lo, hi), as a plain array (float32-rounded, so they match the tensor exactly). */
export function values(shape: readonly number[], lo = -1, hi = 1, seed = 1): number[] {
  const r = rng(seed * 7919 + size(shape));
  return Array.from({ length: size(shape) }, () => Math.fround(lo + (hi - lo) * r()));
}

/** A float32 tensor of `shape` with values uniform in [lo, hi). */
export function rand(shape: readonly number[], lo = -1, hi = 1, seed = 1): lg.Tensor {
  return fromFlat(values(shape, lo, hi, seed), shape);
}

/** A float32 tensor from flat values. */
export function fromFlat(vals: readonly number[], shape: readonly number[]): lg.Tensor {
  return lg
    .tensor(Float32Array.from(vals))
    .reshape([...shape])
    .realize();
}

/**
 * Values whose pairwise gaps are at least `gap` (a shuffled ramp of integer
 * multiples of `gap`), for ops with kinks at ties (max, maximum, maxPool2d):
 * no finite-difference step crosses a tie. Adding gap/2 to one of two such
 * tensors keeps them tie-free against each other too.
 */
export function distinct(shape: readonly number[], seed = 1, gap = 0.1): lg.Tensor {
  const n = size(shape);
  const r = rng(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return fromFlat(
    idx.map((k) => (k - Math.floor(n / 2)) * gap),
    shape,
  );
}

const weights = new Map<string, lg.Tensor>();

/** Fixed weights of `shape` in [0.5, 1.5) with varying signs, so no cotangent is uniform. */
export function weightsFor(shape: readonly number[]): lg.Tensor {
  const key = shape.join(',');
  let w = weights.get(key);
  if (!w) {
    const r = rng(4242 + size(shape));
    w = fromFlat(
      Array.from({ length: size(shape) }, (_, i) => (i % 3 === 1 ? -1 : 1) * (0.5 + r())),
      shape,
    );
    weights.set(key, w);
  }
  return w;
}

/** sum(f(...xs) * W): a scalar whose gradient exercises every output element with a different weight. */
export function weighted(f: (...xs: lg.Tensor[]) => lg.Tensor): (...xs: lg.Tensor[]) => lg.Tensor {
  return (...xs) => {
    const y = f(...xs);
    return y.mul(weightsFor(y.shape)).sum();
  };
}

/** Asserts checkGrad passes for `sum(f(args) * W)`, reporting the errors when it does not. */
export function expectGradOk(
  f: (...xs: lg.Tensor[]) => lg.Tensor,
  args: lg.Tensor[],
  opts: { eps?: number; rtol?: number; atol?: number } = {},
  label = '',
): void {
  const r = lg.checkGrad(weighted(f), args, opts);
  expect(r, `${label} maxAbs=${r.maxAbsError} maxRel=${r.maxRelError}`).toMatchObject({ ok: true });
}

/** Flat numbers of a tensor. */
export function flat(t: unknown): number[] {
  expect(t).toBeInstanceOf(lg.Tensor);
  return Array.from((t as lg.Tensor).dataSync());
}

/** Elementwise closeness of a tensor's values (or a number array) to expected numbers. */
export function expectClose(actual: unknown, expected: readonly number[], atol = 1e-5, rtol = 1e-5, label = ''): void {
  const a = actual instanceof lg.Tensor ? flat(actual) : (actual as number[]);
  expect(a.length, `${label} length`).toBe(expected.length);
  a.forEach((v, i) => {
    const e = expected[i];
    const ok = Number.isFinite(v) && Math.abs(v - e) <= atol + rtol * Math.abs(e);
    expect(ok, `${label}[${i}]: got ${v}, expected ${e}`).toBe(true);
  });
}

/**
 * Shared pieces of the wasm backend suites (test/backends/wasm/*.test.ts).
 * These files run in the `js` project (vitest.config.ts puts test/backends/**
 * there only), so each switches to wasm itself and restores the previous
 * backend and fusion setting afterwards.
 */
import { afterAll, beforeAll } from 'vitest';
import type { TypedArray } from '../../../backends/backend';
import type { WasmBackend } from '../../../backends/wasm/backend';
import * as lg from '../../../src/index';
import { backendByName } from '../../../src/settings';

export const wasm = (): WasmBackend => backendByName('wasm') as WasmBackend;

/** Sets backend and fusion for the suite (beforeAll) and restores them (afterAll). */
export function useBackend(name: string, fusion = true): void {
  let prevBackend = lg.getBackend();
  let prevFusion = lg.getFusion();
  beforeAll(() => {
    prevBackend = lg.getBackend();
    prevFusion = lg.getFusion();
    lg.setBackend(name);
    lg.setFusion(fusion);
  });
  afterAll(() => {
    lg.setBackend(prevBackend);
    lg.setFusion(prevFusion);
  });
}

/** Runs `f` with this backend and fusion setting, restoring both afterwards. */
export function withSettings<T>(backend: string, fusion: boolean, f: () => T): T {
  const [b, fu] = [lg.getBackend(), lg.getFusion()];
  lg.setBackend(backend);
  lg.setFusion(fusion);
  try {
    return f();
  } finally {
    lg.setBackend(b);
    lg.setFusion(fu);
  }
}

/** A copy of a tensor's values (never the backend's own memory). */
export const valuesOf = (t: lg.Tensor): TypedArray => t.dataSync().slice();

/** Deterministic uniform floats in [lo, hi), rounded to float32. */
export function floats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return lo + ((s >>> 0) / 2 ** 32) * (hi - lo);
  });
}

/** Deterministic int32 values in [lo, hi]. */
export function ints(n: number, seed: number, lo: number, hi: number): Int32Array {
  const f = floats(n, seed, 0, 1);
  return Int32Array.from(f, (u) => lo + Math.min(hi - lo, Math.floor(u * (hi - lo + 1))));
}

export interface Tolerance {
  /** Allowed difference relative to the reference value. */
  readonly rel: number;
  /** Allowed absolute difference (added to the relative one). */
  readonly abs: number;
}

/**
 * The first element where `got` differs from `want`: int32 and bool (and any
 * non-finite value) exactly, finite floats within rel * |want| + abs. Returns
 * a description, or undefined when they agree.
 */
export function mismatch(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  exact: boolean,
  tol: Tolerance,
): string | undefined {
  if (got.length !== want.length) return `${got.length} elements, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]];
    if (exact || !Number.isFinite(w) || !Number.isFinite(g)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w)) && !(exact && g === w))
        return `element ${i}: got ${g}, expected ${w}`;
      continue;
    }
    const allowed = tol.rel * Math.abs(w) + tol.abs;
    if (!(Math.abs(g - w) <= allowed))
      return `element ${i}: got ${g}, expected ${w} (allowed ${allowed.toExponential(2)})`;
  }
  return undefined;
}

/**
 * Shared setup of the gpujs suites: registers the backend, decides whether
 * the suites run (a GL context exists, or LAZYGRAD_GPUJS_MODE=headlessgl
 * demands one, in which case a missing context fails them), and compares a
 * computation on gpujs with the same computation on js.
 */
import { GPU } from 'gpu.js';
import { expect } from 'vitest';
import * as lg from '../../../src/index';
import { backendByName } from '../../../src/settings';
import { fromValues } from '../../../src/creation';
import { GpujsBackend } from '../../../backends/gpujs/backend';

export const glRequired = process.env.LAZYGRAD_GPUJS_MODE === 'headlessgl';
export const haveGL = GPU.isHeadlessGLSupported;
/** Skip (with a message) only when GL is neither there nor demanded. */
export const skipGpujs = !haveGL && !glRequired;
if (skipGpujs) {
  console.warn(
    'gpujs suites skipped: no GL context (run them under `xvfb-run -a`; LAZYGRAD_GPUJS_MODE=headlessgl turns this into a failure)',
  );
}

export function gpujs(): GpujsBackend {
  return backendByName('gpujs') as GpujsBackend;
}

/** Deterministic values in [lo, hi). */
export function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

/** A realised float32 tensor of shape `shape` holding `values(...)` (one buffer: dispose frees it). */
export function rnd(shape: number[], seed: number, lo = -1, hi = 1): lg.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return fromValues(values(n, seed, lo, hi), shape, 'f32');
}

type Out = lg.Tensor | lg.Tensor[];

/** Runs `f` on a backend and reads its results (tensors are built inside `f`, on that backend). */
export function on(name: 'js' | 'gpujs', f: () => Out): Float64Array[] {
  const prev = lg.getBackend();
  lg.setBackend(name);
  try {
    const r = f();
    return (Array.isArray(r) ? r : [r]).map((t) => Float64Array.from(t.dataSync()));
  } finally {
    lg.setBackend(prev);
  }
}

/** Largest |gpujs - js| / (atol + rtol * |js|) over the outputs (<= 1 passes); NaN and infinities must match exactly. */
export function expectLikeJs(f: () => Out, rtol: number, atol: number, label = ''): { maxAbs: number } {
  const a = on('js', f);
  const b = on('gpujs', f);
  expect(b.length).toBe(a.length);
  let maxAbs = 0;
  a.forEach((xs, k) => {
    expect(b[k].length, `${label} output ${k} length`).toBe(xs.length);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      const y = b[k][i];
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        expect(y, `${label} output ${k}[${i}]`).toBe(x);
        continue;
      }
      const d = Math.abs(x - y);
      maxAbs = Math.max(maxAbs, d);
      if (d > atol + rtol * Math.abs(x))
        expect.fail(
          `${label} output ${k}[${i}]: gpujs ${y} vs js ${x} (|diff| ${d.toExponential(2)} > ${atol} + ${rtol} * |js|)`,
        );
    }
  });
  return { maxAbs };
}

/**
 * gpujs runtime behaviour: the mode that really runs (and the fallback or
 * error without GL), the kernel cache, and texture lifetimes.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as lg from '../../../src/index';
import { gpujs, rnd, skipGpujs } from './helpers';
import { EXPR_OPS } from '../../../ir';

const child = fileURLToPath(new URL('./fallback-child.ts', import.meta.url));

/** Runs fallback-child.ts without a display, with LAZYGRAD_GPUJS_MODE set to `mode` (or unset). */
function runChild(mode: string | undefined): Record<string, unknown> {
  const env = { ...process.env };
  delete env.DISPLAY;
  delete env.LAZYGRAD_GPUJS_MODE;
  if (mode) env.LAZYGRAD_GPUJS_MODE = mode;
  const out = execFileSync(process.execPath, ['--import', 'tsx', child], { env, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('gpujs mode without a GL context (child processes without a display)', () => {
  it('falls back to webasm, says so, and computes the js results', () => {
    const r = runChild(undefined);
    expect(r.error).toBeUndefined();
    expect(r.mode).toBe('webasm');
    expect(String(r.warnings)).toMatch(/webasm mode: no display/);
    expect(r.maxErr as number).toBeLessThan(2e-6);
  });

  it('LAZYGRAD_GPUJS_MODE=headlessgl makes a missing context an error', () => {
    const r = runChild('headlessgl');
    expect(r.error).toBe('LazygradError');
    expect(r.message).toMatch(/LAZYGRAD_GPUJS_MODE=headlessgl but there is no GL context/);
  });
});

describe.skipIf(skipGpujs)('gpujs on headless GL', () => {
  beforeEach(() => lg.setBackend('gpujs'));
  afterEach(() => lg.setBackend('js'));

  it('reports headlessgl as the mode that runs', () => {
    expect(lg.backendInfo()).toMatchObject({ name: 'gpujs', mode: 'headlessgl', threads: 1 });
    const be = gpujs();
    expect(be.dev.gpu.mode).toBe('headlessgl');
    expect(be.dev.fallbackReason).toBeUndefined();
    expect(be.limits).toEqual({
      maxKernelInputs: 16,
      multiReduceKernels: false,
      randomOnHost: true,
      inPlaceWithinKernel: false,
      minStoredInnerDot: 256,
      // GL gets these wrong (or rounds ties either way): they arrive decomposed (passes/decompose.ts).
      nativeOps: new Set(EXPR_OPS.filter((op) => !['tanh', 'sigmoid', 'log1p', 'expm1', 'pow', 'round'].includes(op))),
    });
    expect(lg.tensor([1, 2, 3]).mul(2).dataSync()).toEqual(new Float32Array([2, 4, 6]));
  });

  it('caches kernels: a repeat or new scalar values compile nothing, a new shape compiles', () => {
    const be = gpujs();
    const x = rnd([5, 7], 1);
    const f = (a: number, b: number) => x.mul(a).add(b).exp().sum(1).dataSync();
    const first = f(2.5, 1);
    const n = be.compileCount;
    const again = f(2.5, 1);
    const other = f(-1.5, 0.25);
    expect(be.compileCount).toBe(n);
    expect(again).toEqual(first);
    const want = Array.from({ length: 5 }, (_, i) => {
      const row = Array.from(x.dataSync().slice(i * 7, i * 7 + 7));
      return row.reduce((s, v) => s + Math.exp(Math.fround(v * -1.5) + 0.25), 0);
    });
    other.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(2e-6 * want[i]));
    rnd([6, 7], 2).mul(2.5).add(1).exp().sum(1).dataSync();
    expect(be.compileCount).toBeGreaterThan(n);
  });

  it('generated sources are functions with shapes baked in and scalars as arguments', () => {
    const be = gpujs();
    const fn = lg.jit((a: lg.Tensor) => a.mul(3.25).sum(0));
    const src = fn.lower(rnd([4, 9], 3)).ir('kernels');
    expect(src).toMatch(/^\/\/ kernel .*\nfunction /);
    expect(src).toMatch(/for \(let j\d+ = 0; j\d+ < 4; j\d+\+\+\)/); // the reduction: a literal bound
    expect(src).toContain('// argument sizes: 36, -');
    expect(src).not.toContain('3.25');
    expect(be.compileCount).toBeGreaterThan(0);
  });

  it('textures return to their baseline after eager loops, jit loops with donation, and dispose', () => {
    const be = gpujs();
    const base = be.textureCount;
    const w = rnd([32, 32], 4);
    const x = rnd([8, 32], 5);
    const big = rnd([70_000], 6);
    for (let i = 0; i < 6; i++) {
      const y = x.matmul(w).add(i).tanh().realize();
      const s = y.sum(1);
      const t = big.mul(i).sum(); // two passes: a partial texture per run
      expect(s.dataSync().length).toBe(8);
      expect(Number.isFinite(t.item())).toBe(true);
      y.dispose();
      s.dispose();
      t.dispose();
    }
    // w, x and big hold one texture each while alive.
    expect(be.textureCount).toBe(base + 3);
    const step = lg.jit((wt: lg.Tensor, xt: lg.Tensor, lr: number) => wt.sub(xt.matmul(wt).sum(0, true).mul(lr)), {
      donate: [0],
    });
    let cur = w.mul(1).realize();
    for (let i = 0; i < 6; i++) {
      const next = step(cur, x, 0.01);
      expect(() => cur.dataSync()).toThrow(/donated/);
      cur = next;
    }
    expect(cur.dataSync().every(Number.isFinite)).toBe(true);
    expect(be.textureCount).toBe(base + 4);
    for (const t of [cur, w, x, big]) t.dispose();
    expect(be.textureCount).toBe(base);
  });

  it('a graph returning one value twice gives two buffers that free independently', () => {
    const be = gpujs();
    const base = be.textureCount;
    const fn = lg.jit((a: lg.Tensor) => {
      const y = a.add(1);
      return [y, y];
    });
    const a = rnd([100], 7);
    const [p, q] = fn(a) as lg.Tensor[];
    expect(be.textureCount).toBe(base + 3);
    p.dispose();
    expect(q.dataSync()[0]).toBe(Math.fround(a.dataSync()[0] + 1));
    q.dispose();
    a.dispose();
    expect(be.textureCount).toBe(base);
  });
});

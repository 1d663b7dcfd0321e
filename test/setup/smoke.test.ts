// Environment check for the gpujs backend: gpu.js must run kernels on real
// headless GL when a display is available (CI runs under `xvfb-run -a` with
// LAZYGRAD_GPUJS_MODE=headlessgl). Without a display it is skipped, unless
// LAZYGRAD_GPUJS_MODE=headlessgl demands GL, in which case it fails loudly
// rather than letting gpu.js fall back to WebAssembly silently.
import { describe, expect, it } from 'vitest';
import { GPU } from 'gpu.js';

const glRequired = process.env.LAZYGRAD_GPUJS_MODE === 'headlessgl';
const haveDisplay = Boolean(process.env.DISPLAY);

describe('gpu.js environment', () => {
  it.skipIf(!haveDisplay && !glRequired)('runs a kernel on headlessgl without fallback', () => {
    expect(process.env.DISPLAY, 'LAZYGRAD_GPUJS_MODE=headlessgl needs a display (xvfb-run -a)').toBeTruthy();
    const gpu = new GPU({ mode: 'headlessgl' });
    try {
      const kernel = gpu.createKernel('function (a) { return a[this.thread.x] * 2; }', { output: [4] });
      const out = kernel([1, 2, 3, 4.5]) as Float32Array;
      expect(Array.from(out)).toEqual([2, 4, 6, 9]);
      const impl = (kernel as unknown as { kernel: { constructor: { name: string }; fallbackReason?: unknown } })
        .kernel;
      expect(impl.constructor.name).toBe('HeadlessGLKernel');
      expect(impl.fallbackReason ?? null).toBeNull();
      expect(gpu.mode).toBe('headlessgl');
      kernel.destroy();
    } finally {
      gpu.destroy();
    }
  });
});

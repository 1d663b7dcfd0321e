import { defineConfig } from 'vitest/config';

// The backend-independent suites run on `js` always and again on `gpujs`
// when a GL context is expected: under CI (LAZYGRAD_GPUJS_MODE=headlessgl,
// where a missing context is an error) or wherever a display is set.
const withGpujs = process.env.LAZYGRAD_GPUJS_MODE === 'headlessgl' || !!process.env.DISPLAY;
const BACKEND_INDEPENDENT = [
  'test/src/**/*.test.ts',
  'test/jit/**/*.test.ts',
  'test/autodiff/**/*.test.ts',
  'test/passes/fusion-equivalence.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // gpu.js/headless-gl hold native GL contexts: separate processes are safer
    // than worker threads.
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'js', include: ['test/**/*.test.ts'], env: { LAZYGRAD_BACKEND: 'js' } } },
      ...(withGpujs
        ? [
            {
              extends: true as const,
              test: { name: 'gpujs', include: BACKEND_INDEPENDENT, env: { LAZYGRAD_BACKEND: 'gpujs' } },
            },
          ]
        : []),
    ],
  },
});

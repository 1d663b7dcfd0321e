import { defineConfig } from 'vitest/config';
import './backends/builtin';
import { registeredBackends } from './backends/registry';

// One project per registered backend that is testable here (gpujs: where a
// GL context is expected, see backends/builtin.ts). The reference backend
// `js` runs every suite; the others run the backend-independent ones.
const REFERENCE_BACKEND = 'js';
const BACKEND_INDEPENDENT = [
  'test/src/**/*.test.ts',
  'test/jit/**/*.test.ts',
  'test/autodiff/**/*.test.ts',
  'test/passes/fusion-equivalence.test.ts',
];

const projects = registeredBackends()
  .filter(({ info }) => info.testable?.() ?? true)
  .map(({ name }) => ({
    extends: true as const,
    test: {
      name,
      include: name === REFERENCE_BACKEND ? ['test/**/*.test.ts'] : BACKEND_INDEPENDENT,
      env: { LAZYGRAD_BACKEND: name },
    },
  }));

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // gpu.js/headless-gl hold native GL contexts: separate processes are safer
    // than worker threads.
    pool: 'forks',
    projects,
  },
});

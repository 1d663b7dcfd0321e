import { defineConfig } from 'vitest/config';
import './backends/builtin';
import { registeredBackends } from './backends/registry';

// One project per registered backend that is testable here (gpujs: where a
// GL context is expected, see backends/builtin.ts). `js` runs every suite;
// the others run the backend-independent ones.
const FULL_SUITE_BACKEND = 'js';
const BACKEND_INDEPENDENT = [
  'test/src/**/*.test.ts',
  'test/jit/**/*.test.ts',
  'test/autodiff/**/*.test.ts',
  'test/passes/fusion-equivalence.test.ts',
];

/** The interpreter is slow: the suites whose programs are small. */
const REFERENCE_SUITES = ['test/autodiff/**/*.test.ts', 'test/jit/donate-alias.test.ts'];

/**
 * What a project's processes see. On wasm every kernel is split over the threads
 * (LAZYGRAD_THREAD_MIN_WORK=0: the default keeps small kernels on one thread).
 */
const projectEnv = (name: string, threads?: string): Record<string, string> => ({
  LAZYGRAD_BACKEND: name,
  ...(name === 'wasm' ? { LAZYGRAD_THREAD_MIN_WORK: '0' } : {}),
  ...(threads ? { LAZYGRAD_THREADS: threads } : {}),
});

const projects = registeredBackends()
  .filter(({ info }) => info.testable?.() ?? true)
  .map(({ name }) => ({
    extends: true as const,
    test: {
      name,
      include: name === FULL_SUITE_BACKEND ? ['test/**/*.test.ts'] : BACKEND_INDEPENDENT,
      env: projectEnv(name),
    },
  }));

// wasm on one thread and on three (more threads than this machine's cores); the `wasm` project
// above runs the default, one thread per core.
if (projects.some((p) => p.test.name === 'wasm'))
  for (const threads of ['1', '3'])
    projects.push({
      extends: true as const,
      test: {
        name: `wasm-${threads}thread${threads === '1' ? '' : 's'}`,
        include: BACKEND_INDEPENDENT,
        env: projectEnv('wasm', threads),
      },
    });

// A backend registered from outside the package (test/backends/interpreter-backend.ts, every
// kernel through the reference interpreter) runs shared suites too: what a new backend gets.
projects.push({
  extends: true as const,
  test: {
    name: 'reference',
    include: REFERENCE_SUITES,
    env: { LAZYGRAD_BACKEND: 'reference' },
    setupFiles: ['test/setup/register-reference-backend.ts'],
  },
} as (typeof projects)[number]);

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

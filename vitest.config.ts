import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // gpu.js/headless-gl hold native GL contexts: separate processes are safer
    // than worker threads.
    pool: 'forks',
  },
});

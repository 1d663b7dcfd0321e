/**
 * How many threads the wasm backend runs kernels on, and what this
 * environment allows. One process-wide setting (src/settings.ts writes it:
 * `setThreads`, `LAZYGRAD_THREADS`), read by every wasm backend at each launch.
 */

/** The most threads a launch uses (the pool's control block holds this many ranges). */
export const MAX_THREADS = 256;

/**
 * Kernels with fewer loop iterations than this run on the calling thread
 * alone: waking the workers and waiting for them costs about as much as
 * this many iterations on one (measured: test/backends/wasm/threads.bench.ts).
 */
export const DEFAULT_MIN_PARALLEL_WORK = 1 << 16;

export const threadSettings = {
  threads: availableCores(),
  minParallelWork: DEFAULT_MIN_PARALLEL_WORK,
};

/** A Node built-in module, loaded without a static import (the package also runs in browsers); undefined elsewhere. */
export function nodeBuiltin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.(id) as T | undefined;
}

/** The cores available: os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers. */
export function availableCores(): number {
  const os = nodeBuiltin<{ availableParallelism?: () => number }>('node:os');
  const n =
    os?.availableParallelism?.() ??
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_THREADS) : 1;
}

/**
 * Why this environment cannot run kernels on several threads, or undefined
 * when it can: threads need SharedArrayBuffer (in a browser page, cross-origin
 * isolation) and workers.
 */
export function threadsUnavailableReason(): string | undefined {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean; Worker?: unknown };
  if (typeof g.SharedArrayBuffer !== 'function' || g.crossOriginIsolated === false)
    return g.crossOriginIsolated === false
      ? 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and ' +
          'Cross-Origin-Embedder-Policy: require-corp), so SharedArrayBuffer is unavailable'
      : 'SharedArrayBuffer is unavailable';
  if (!nodeBuiltin('node:worker_threads') && typeof g.Worker !== 'function') return 'this environment has no workers';
  return undefined;
}

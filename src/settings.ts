/** Global settings: the current backend, fusion, debug level, dump folder, threads. */
import { LazygradError } from '../ir';
import type { Backend } from '../backends/backend';
import { DEFAULT_BACKEND } from '../backends/builtin';
import { createBackend, isBackendName, listBackendNames } from '../backends/registry';
import { MAX_THREADS, availableCores, threadSettings } from '../backends/wasm/threads';

/** The user's backend choices (hidden variants such as `js-float64` left out), and how to add one. */
export { backendNames, registerBackend } from '../backends/registry';

/** A registered backend's name (the built-in ones spelled out for editors; others are registered at run time). */
export type BackendName = 'js' | 'gpujs' | 'wasm' | (string & {});

/** The backend registered as `name` (one instance per name). */
export function backendByName(name: string): Backend {
  if (!isBackendName(name))
    throw new LazygradError(`setBackend: unknown backend '${String(name)}' (expected one of ${listBackendNames()})`);
  return createBackend(name);
}

function envFlag(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env[name] : undefined;
}

export const settings = {
  backendName: DEFAULT_BACKEND as BackendName,
  fusion: envFlag('LAZYGRAD_FUSION') !== '0',
  debug: Number(envFlag('LAZYGRAD_DEBUG') ?? 0) || 0,
  dumpDir: envFlag('LAZYGRAD_DUMP') || undefined,
};

export function currentBackend(): Backend {
  return backendByName(settings.backendName);
}

export function setBackend(name: BackendName): void {
  if (typeof name !== 'string')
    throw new LazygradError(`setBackend: expected a backend name (${listBackendNames()}), got ${String(name)}`);
  backendByName(name);
  settings.backendName = name;
}

export function getBackend(): BackendName {
  return settings.backendName;
}

export interface BackendInfo {
  name: BackendName;
  mode: string;
  /** Threads a kernel may run on (the `wasm` backend's pool; 1 elsewhere). */
  threads: number;
  /** Why `threads` is 1 although more were asked for. */
  reason?: string;
}

export function backendInfo(): BackendInfo {
  const backend = currentBackend() as Backend & { threads?: number; threadsUnavailable?: string };
  const info: BackendInfo = { name: settings.backendName, mode: backend.mode, threads: backend.threads ?? 1 };
  if (backend.threads === undefined && threadSettings.threads > 1)
    info.reason = `the ${backend.name} backend runs kernels on the calling thread only`;
  else if (backend.threadsUnavailable && threadSettings.threads > 1) info.reason = backend.threadsUnavailable;
  return info;
}

/**
 * Threads the `wasm` backend runs kernels on (the calling thread and n - 1
 * workers); by default the available cores. Results are bit-identical for
 * every n.
 */
export function setThreads(n: number): void {
  threadSettings.threads = checkThreads('setThreads', n);
}

export function getThreads(): number {
  return threadSettings.threads;
}

function checkThreads(what: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS)
    throw new LazygradError(`${what}: expected a whole number of threads from 1 to ${MAX_THREADS}, got ${describe(n)}`);
  return n;
}

export function setFusion(on: boolean): void {
  if (typeof on !== 'boolean') throw new LazygradError(`setFusion: expected true or false, got ${describe(on)}`);
  settings.fusion = on;
}

export function getFusion(): boolean {
  return settings.fusion;
}

export function setDebug(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > 4)
    throw new LazygradError(`setDebug: expected a level 0 to 4, got ${describe(level)}`);
  settings.debug = level;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}' (a string)`;
  return v !== null && typeof v === 'object' ? 'an object' : `${String(v)} (${typeof v})`;
}

const envBackend = envFlag('LAZYGRAD_BACKEND');
if (envBackend) settings.backendName = envBackend as BackendName;

const envThreads = envFlag('LAZYGRAD_THREADS');
threadSettings.threads = envThreads
  ? checkThreads('LAZYGRAD_THREADS', /^\d+$/.test(envThreads) ? Number(envThreads) : envThreads)
  : availableCores();
// Kernels smaller than this (loop iterations) stay on the calling thread; 0 splits every kernel (tests).
const envMinWork = envFlag('LAZYGRAD_THREAD_MIN_WORK');
if (envMinWork) {
  if (!/^\d+$/.test(envMinWork))
    throw new LazygradError(`LAZYGRAD_THREAD_MIN_WORK: expected a whole number, got '${envMinWork}'`);
  threadSettings.minParallelWork = Number(envMinWork);
}

/** Global settings: the current backend, fusion, debug level, dump folder. */
import { LazygradError } from '../ir';
import type { Backend } from '../backends/backend';
import { DEFAULT_BACKEND } from '../backends/builtin';
import { createBackend, isBackendName, listBackendNames } from '../backends/registry';

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

export function backendInfo(): { name: BackendName; mode: string } {
  return { name: settings.backendName, mode: currentBackend().mode };
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

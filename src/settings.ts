/** Global settings: the current backend, fusion, debug level, dump folder. */
import { LazygradError } from '../ir';
import type { Backend } from '../backends/backend';
import { JsBackend } from '../backends/js/backend';
import { createGpujsBackend } from '../backends/gpujs/backend';

export type BackendName = 'js' | 'gpujs';

const backends = new Map<string, Backend>();

export function backendByName(name: string): Backend {
  let b = backends.get(name);
  if (b) return b;
  if (name === 'js') b = new JsBackend();
  else if (name === 'js-float64') b = new JsBackend(true);
  else if (name === 'gpujs') b = createGpujsBackend();
  else throw new LazygradError(`setBackend: unknown backend '${name}' (expected 'js' or 'gpujs')`);
  backends.set(name, b);
  return b;
}

function envFlag(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env[name] : undefined;
}

export const settings = {
  backendName: 'js' as BackendName,
  fusion: envFlag('LAZYGRAD_FUSION') !== '0',
  debug: Number(envFlag('LAZYGRAD_DEBUG') ?? 0) || 0,
  dumpDir: envFlag('LAZYGRAD_DUMP') || undefined,
};

export function currentBackend(): Backend {
  return backendByName(settings.backendName);
}

export function setBackend(name: BackendName): void {
  if (typeof name !== 'string')
    throw new LazygradError(`setBackend: expected a backend name ('js' or 'gpujs'), got ${String(name)}`);
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
  settings.fusion = !!on;
}

export function getFusion(): boolean {
  return settings.fusion;
}

export function setDebug(level: number): void {
  settings.debug = level;
}

const envBackend = envFlag('LAZYGRAD_BACKEND');
if (envBackend) settings.backendName = envBackend as BackendName;

/**
 * Helpers of `bench/run.ts --gpujs`: lazygrad on the gpujs backend (gpu.js
 * on headless GL), measured in the same run as the js rows. Every gpujs
 * block switches the backend, insists on headless GL (a silent fallback to
 * gpu.js's webasm/cpu modes would make the numbers meaningless) and
 * switches back to js. The first call of each jitted function is timed on
 * its own: trace, passes, codegen, shader compile and link, one run, readback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as lg from '../src/index';
import { backendByName } from '../src/settings';
import { fmt } from './harness';

export const GPU_ON = 'lazygrad gpujs jit, fusion on';
export const GPU_OFF = 'lazygrad gpujs jit, fusion off';

interface FirstCall {
  workload: string;
  variant: string;
  ms: number;
  kernels: number;
  kernelMs: number;
}
const firstCalls: FirstCall[] = [];
let initMs = 0;
let shaderCache = '';

const compileStats = (): { kernels: number; ms: number } =>
  (backendByName('gpujs') as unknown as { compileStats: { kernels: number; ms: number } }).compileStats;

/**
 * Creates the gpujs backend (gpu.js instance and GL context) and checks its
 * mode; run before the js measurements so that a missing GL context fails
 * at once. Unless MESA_SHADER_CACHE_DIR is set, Mesa's on-disk shader cache
 * goes to a fresh folder, so first-call costs are cold-cache compiles.
 */
export function initGpujs(): void {
  if (process.env.MESA_SHADER_CACHE_DIR || process.env.MESA_SHADER_CACHE_DISABLE) {
    shaderCache =
      `as set by the environment (MESA_SHADER_CACHE_DIR=${process.env.MESA_SHADER_CACHE_DIR ?? ''}, ` +
      `MESA_SHADER_CACHE_DISABLE=${process.env.MESA_SHADER_CACHE_DISABLE ?? ''})`;
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lazygrad-bench-mesa-'));
    process.env.MESA_SHADER_CACHE_DIR = dir; // read by Mesa when the GL context is created below
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    shaderCache = 'empty at start (a fresh MESA_SHADER_CACHE_DIR): first calls are cold shader compiles';
  }
  const t0 = performance.now();
  lg.setBackend('gpujs');
  initMs = performance.now() - t0;
  try {
    checkMode();
  } finally {
    lg.setBackend('js');
  }
}

function checkMode(): void {
  const { name, mode } = lg.backendInfo();
  if (name !== 'gpujs' || mode !== 'headlessgl') {
    throw new Error(
      `bench --gpujs: backend ${name} runs in '${mode}' mode, not headlessgl; ` +
        'run under `xvfb-run -a` with LAZYGRAD_GPUJS_MODE=headlessgl (and a built `gl` module)',
    );
  }
}

/** Runs `f` with gpujs as the current backend (headless GL or an error), then switches back to js. */
export async function onGpujs<T>(f: () => Promise<T>): Promise<T> {
  lg.setBackend('gpujs');
  try {
    checkMode();
    return await f();
  } finally {
    lg.setBackend('js');
  }
}

/** A float32 tensor on the current backend holding `a` (call inside onGpujs). */
export const onDevice = (a: Float32Array, shape: number[]): lg.Tensor => lg.tensor(a).reshape(shape).realize();

/** Times the first call of a jitted function and the gpu.js kernels it built (their first runs include shader compile and link). */
export function firstCall(workload: string, variant: string, fn: () => void): void {
  const s0 = compileStats();
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  const s1 = compileStats();
  firstCalls.push({ workload, variant, ms, kernels: s1.kernels - s0.kernels, kernelMs: s1.ms - s0.ms });
  console.log(
    `  gpujs first call ${variant}: ${fmt(ms)} ms, ${s1.kernels - s0.kernels} new gpu.js kernels (${fmt(s1.ms - s0.ms)} ms in their first runs)`,
  );
}

/** The markdown section on gpujs first calls (empty without --gpujs). */
export function firstCallSection(): string[] {
  if (!firstCalls.length) return [];
  return [
    '## gpujs: first call per workload',
    '',
    `Creating the backend (gpu.js instance, GL context, probe kernel) took ${fmt(initMs)} ms. Mesa's shader cache was ${shaderCache}. ` +
      "A first call is timed in this process after the js rows of the same workload (so V8 has already compiled lazygrad's own code): " +
      'trace, passes, codegen, gpu.js kernel builds, one run and the readback. "New kernels" are gpu.js kernels not already in the ' +
      'process-wide cache (the same source and size is built once); their first runs include the GLSL compile and link.',
    '',
    '| workload | variant | first call ms | new gpu.js kernels | ms in their first runs |',
    '|---|---|---:|---:|---:|',
    ...firstCalls.map((f) => `| ${f.workload} | ${f.variant} | ${fmt(f.ms)} | ${f.kernels} | ${fmt(f.kernelMs)} |`),
    '',
  ];
}

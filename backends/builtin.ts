/**
 * lazygrad's own backends, registered on import (one line each). Creating
 * none of them happens here: gpu.js opens its GL context only when the
 * gpujs backend is first used.
 */
import { createGpujsBackend } from './gpujs/backend';
import { JsBackend } from './js/backend';
import { registerBackend } from './registry';
import { WasmBackend } from './wasm/backend';
import { hasSimd } from './wasm/webassembly';

const env = (name: string) => (typeof process !== 'undefined' ? process.env[name] : undefined);

registerBackend('js', () => new JsBackend(), { description: 'generated JavaScript loops (always available)' });
registerBackend('js-float64', () => new JsBackend(true), { description: 'js in float64 (checkGrad)', hidden: true });
registerBackend('gpujs', createGpujsBackend, {
  description: 'gpu.js kernels on headless GL (webasm or cpu without GL, reported)',
  // Where a GL context is expected: CI demands one (a missing context is then an error), or a display is set.
  testable: () => env('LAZYGRAD_GPUJS_MODE') === 'headlessgl' || !!env('DISPLAY'),
});
/** The backend used unless one is chosen: WebAssembly SIMD where the engine has it, else generated JavaScript. */
export const DEFAULT_BACKEND = hasSimd() ? 'wasm' : 'js';

registerBackend('wasm', () => new WasmBackend(), {
  description: 'WebAssembly SIMD kernels (where the engine has SIMD128)',
  testable: hasSimd,
});

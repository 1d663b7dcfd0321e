/**
 * The process-wide gpu.js instance: which mode really runs, the compiled
 * kernel cache, and texture creation from host data.
 *
 * Mode: `headlessgl` when gpu.js finds a GL context (under `xvfb-run` here),
 * otherwise `webasm` (or `cpu`), announced with a warning and reported as
 * the backend's mode; `LAZYGRAD_GPUJS_MODE=headlessgl` turns the fallback
 * into an error, and `=webasm` / `=cpu` pick a fallback on purpose. Every
 * kernel's implementation class is checked on its first run, since gpu.js
 * may also fall back per kernel (a shader that fails to compile runs on the
 * CPU instead).
 */
import { GPU, type IKernelRunShortcut, type Texture } from 'gpu.js';
import { LazygradError } from '../../ir';

export type GpujsMode = 'headlessgl' | 'webasm' | 'cpu';

const KERNEL_CLASS: Record<GpujsMode, string> = {
  headlessgl: 'HeadlessGLKernel',
  webasm: 'WebAssemblyKernel',
  cpu: 'CPUKernel',
};

interface Impl {
  constructor: { name: string };
  fallbackReason?: unknown;
  context?: { finish(): void };
}

export interface CachedKernel {
  readonly fn: IKernelRunShortcut;
  /** Milliseconds of the first call (shader compile and link plus one run), once it happened. */
  firstCallMs?: number;
}

export class Device {
  readonly gpu: GPU;
  readonly mode: GpujsMode;
  /** Why GL is not used, when it is not. */
  readonly fallbackReason?: string;
  private readonly kernels = new Map<string, CachedKernel>();
  private copyKernel?: IKernelRunShortcut;
  compiles = 0;
  compileMs = 0;

  constructor() {
    const want = typeof process !== 'undefined' ? process.env.LAZYGRAD_GPUJS_MODE : undefined;
    if (want && !['headlessgl', 'webasm', 'cpu'].includes(want)) {
      throw new LazygradError(`gpujs: LAZYGRAD_GPUJS_MODE must be headlessgl, webasm or cpu, got '${want}'`);
    }
    let mode: GpujsMode;
    if (want === 'webasm' || want === 'cpu') mode = want;
    else if (GPU.isHeadlessGLSupported) mode = 'headlessgl';
    else {
      const reason =
        typeof process !== 'undefined' && !process.env.DISPLAY
          ? 'no display for headless GL (run under `xvfb-run -a`)'
          : 'gpu.js reports headless GL unsupported (is the native `gl` module built?)';
      if (want === 'headlessgl')
        throw new LazygradError(`gpujs: LAZYGRAD_GPUJS_MODE=headlessgl but there is no GL context: ${reason}`);
      mode = GPU.isWebAssemblySupported ? 'webasm' : 'cpu';
      this.fallbackReason = reason;
      console.warn(`lazygrad: gpujs backend runs gpu.js in ${mode} mode: ${reason}`);
    }
    this.mode = mode;
    this.gpu = new GPU({ mode });
    if (mode === 'headlessgl') {
      // The upload kernel doubles as the probe that GL really runs.
      const probe = this.upload(new Float32Array([1.5, -2]));
      const back = Array.from(probe.toArray() as Float32Array);
      probe.delete();
      if (back[0] !== 1.5 || back[1] !== -2)
        throw new LazygradError(`gpujs: the GL probe kernel returned ${JSON.stringify(back)}, expected [1.5,-2]`);
    }
  }

  get isGL(): boolean {
    return this.mode === 'headlessgl';
  }

  /** Throws unless `fn` runs in this device's mode (gpu.js swaps in a CPU kernel when a shader fails). */
  checkImpl(fn: IKernelRunShortcut, what: string): void {
    const impl = fn.kernel as unknown as Impl;
    const name = impl.constructor.name;
    if (name !== KERNEL_CLASS[this.mode]) {
      const why = impl.fallbackReason ? `: ${String(impl.fallbackReason)}` : '';
      throw new LazygradError(
        `gpujs: ${what} runs as ${name}, not ${KERNEL_CLASS[this.mode]} (gpu.js fell back${why})`,
      );
    }
  }

  /** A texture holding `data` (GL mode). */
  upload(data: Float32Array): Texture {
    if (!this.copyKernel) {
      this.copyKernel = this.gpu.createKernel('function copy(a) { return a[this.thread.x]; }', {
        output: [Math.max(1, data.length)],
        pipeline: true,
        immutable: true,
        tactic: 'precision',
        dynamicOutput: true,
        dynamicArguments: true,
      });
    }
    const k = this.copyKernel;
    k.setOutput([data.length]);
    const tex = k(data) as Texture;
    this.checkImpl(k, 'the upload kernel');
    return tex;
  }

  /** The compiled kernel for `source` over `threads` outputs, built on first use and cached for the process. */
  kernel(source: string, threads: number): CachedKernel {
    const key = `${threads}|${source}`;
    let k = this.kernels.get(key);
    if (!k) {
      const pipeline = this.isGL;
      const fn = this.gpu.createKernel(source, {
        // Static arguments: texture sizes become shader constants (twice as fast as uniforms on llvmpipe);
        // the generated source names them, so a cached kernel always sees the sizes it was built for.
        output: [threads],
        pipeline,
        immutable: pipeline,
        tactic: 'precision',
      });
      k = { fn };
      this.kernels.set(key, k);
      this.compiles++;
    }
    return k;
  }

  /** Waits for queued GL work (GL draws run lazily). */
  finish(): void {
    const ctx = (this.copyKernel?.kernel as unknown as Impl | undefined)?.context;
    ctx?.finish();
  }

  get cachedKernels(): number {
    return this.kernels.size;
  }
}

let shared: Device | undefined;

/** The process's gpu.js device (created on first use; a texture only works in its own GPU instance). */
export function device(): Device {
  if (!shared) shared = new Device();
  return shared;
}

/**
 * The `wasm` backend: every kernel becomes a WebAssembly module (SIMD128)
 * generated from the kernel plan (codegen.ts, encoded by encoder.ts),
 * compiled once and cached by its text, so graphs that differ only in
 * scalar values reuse compiled kernels. All buffers live in one
 * `WebAssembly.Memory` managed by `WasmHeap`; `download` returns a copy (a
 * view would detach when the memory grows), `free` returns the block.
 *
 * Where the environment allows threads the memory is shared, and a kernel
 * with enough work runs on a thread pool (pool.ts): its parallel axis is
 * cut into one range per thread, at the kernel's grain, so every output
 * element is computed by one thread exactly as on one thread.
 */
import { type BackendLimits, type DType, type Kernel, type KernelPlan, LazygradError } from '../../ir';
import {
  type AllocateOptions,
  type Backend,
  type CompiledPlan,
  type DeviceBuffer,
  type RunOptions,
  type TypedArray,
  checkBufferSize,
} from '../backend';
import { runPlan } from '../executor';
import { generateWasmKernel } from './codegen';
import { WasmHeap } from './heap';
import { type Chunk, ThreadPool } from './pool';
import { threadSettings, threadsUnavailableReason } from './threads';
import { type WasmModule, hasRelaxedSimd, webAssembly } from './webassembly';

export interface WasmBuffer extends DeviceBuffer {
  /** Byte offset of the block in the backend's memory. */
  readonly ptr: number;
  freed: boolean;
}

type KernelFn = (...args: number[]) => void;

interface PreparedKernel {
  readonly fn: KernelFn;
  readonly module: WasmModule;
  readonly scratchBytes: number;
  readonly parallel?: { readonly extent: number; readonly grain: number };
  readonly work: number;
}

/** Scratch blocks of the threads of one launch start this many bytes apart, at least (a cache line). */
const SCRATCH_ALIGN = 64;

/** Compiled modules by text, shared by every wasm backend instance. */
const moduleCache = new Map<string, WasmModule>();

const bytesPer = (dtype: DType) => (dtype === 'bool' ? 1 : 4);

export class WasmBackend implements Backend {
  readonly name = 'wasm';
  readonly mode: string;
  readonly limits: BackendLimits = {
    maxKernelInputs: Infinity,
    multiReduceKernels: true,
    inPlaceWithinKernel: true,
    rowCache: true,
    minStoredInnerDot: 256,
  };
  readonly freesBuffers = true;
  readonly downloadIsView = false;
  readonly writesInPlace = true;
  readonly float64Scalars = false;
  readonly sourceExtension = 'wat';
  readonly heap: WasmHeap;
  /** Why kernels run on one thread whatever `threadSettings` says, if they must. */
  readonly threadsUnavailable: string | undefined;
  private compiles = 0;
  /** Instances of compiled modules over this backend's memory, by module text. */
  private readonly instances = new Map<string, { fn: KernelFn; module: WasmModule }>();
  private pool?: ThreadPool;
  /** Launches that ran on more than one thread (tests check that splitting happened). */
  parallelLaunches = 0;
  private scratch = 0;
  private scratchSize = 0;

  private readonly relaxed = hasRelaxedSimd();

  constructor() {
    this.mode = this.relaxed ? 'simd128+relaxed' : 'simd128';
    let reason = threadsUnavailableReason();
    let heap: WasmHeap | undefined;
    if (!reason) {
      try {
        heap = new WasmHeap({ shared: true });
      } catch (e) {
        reason = `a shared WebAssembly.Memory could not be created (${(e as Error).message})`;
      }
    }
    this.heap = heap ?? new WasmHeap();
    this.threadsUnavailable = reason;
  }

  /** The threads a launch may use now: the setting, or 1 where threads are unavailable. */
  get threads(): number {
    return this.threadsUnavailable ? 1 : threadSettings.threads;
  }

  get compileCount(): number {
    return this.compiles;
  }

  private view(dtype: DType, ptr: number, size: number): TypedArray {
    const buffer = this.heap.memory.buffer;
    if (dtype === 'f32') return new Float32Array(buffer, ptr, size);
    if (dtype === 'i32') return new Int32Array(buffer, ptr, size);
    return new Uint8Array(buffer, ptr, size);
  }

  allocate(dtype: DType, size: number, opts: AllocateOptions = {}): WasmBuffer {
    checkBufferSize(dtype, size);
    const ptr = this.heap.alloc(size * bytesPer(dtype));
    if (!opts.uninitialised) this.view(dtype, ptr, size).fill(0);
    return { dtype, size, ptr, freed: false };
  }

  upload(dtype: DType, data: ArrayLike<number>): WasmBuffer {
    const buf = this.allocate(dtype, data.length, { uninitialised: true });
    this.view(dtype, buf.ptr, buf.size).set(data);
    return buf;
  }

  download(buf: DeviceBuffer): TypedArray {
    const b = buf as WasmBuffer;
    this.checkLive(b, 'download');
    return this.view(b.dtype, b.ptr, b.size).slice();
  }

  copy(buf: DeviceBuffer): WasmBuffer {
    const b = buf as WasmBuffer;
    const out = this.allocate(b.dtype, b.size, { uninitialised: true });
    new Uint8Array(this.heap.memory.buffer).copyWithin(out.ptr, b.ptr, b.ptr + b.size * bytesPer(b.dtype));
    return out;
  }

  free(buf: DeviceBuffer): void {
    const b = buf as WasmBuffer;
    if (b.freed) return;
    b.freed = true;
    this.heap.free(b.ptr);
  }

  checkLive(buf: DeviceBuffer, what: string): void {
    if ((buf as WasmBuffer).freed)
      throw new LazygradError(`${what}: a ${buf.dtype}[${buf.size}] wasm buffer was used after it was freed`);
  }

  compile(plan: KernelPlan): CompiledPlan {
    const sources: { name: string; source: string }[] = [];
    const prepared = plan.kernels.map((k) => {
      const inputSizes = k.inputs.map((b) => plan.buffers[b].size);
      const memory = { maximumPages: this.heap.maximumPages, shared: this.heap.shared };
      const gen = generateWasmKernel(k, { inputSizes, relaxedSimd: this.relaxed, memory });
      sources.push({ name: k.name, source: gen.text });
      const kernel: PreparedKernel = {
        ...this.instantiate(k, gen.text, gen.bytes),
        scratchBytes: gen.scratchBytes,
        parallel: gen.parallel,
        work: gen.work,
      };
      return kernel;
    });
    return { plan, sources, prepared };
  }

  private instantiate(k: Kernel, text: string, bytes: Uint8Array): { fn: KernelFn; module: WasmModule } {
    const hit = this.instances.get(text);
    if (hit) return hit;
    const wa = webAssembly();
    if (!wa) throw new LazygradError('the wasm backend needs WebAssembly, which this engine does not have');
    let compiled = moduleCache.get(text);
    if (!compiled) {
      try {
        compiled = new wa.Module(bytes);
      } catch (e) {
        // Chromium refuses to compile modules over 4 KB synchronously on a page's main thread.
        if (e instanceof RangeError)
          throw new LazygradError(
            `wasm backend: the engine refused to compile kernel ${k.name} (${bytes.length} bytes) synchronously: ` +
              `${e.message}. Run lazygrad in a Worker, or choose setBackend('js') on this thread.`,
            { cause: e },
          );
        throw new Error(`wasm backend: kernel ${k.name} did not compile: ${(e as Error).message}\n${text}`, {
          cause: e,
        });
      }
      moduleCache.set(text, compiled);
      this.compiles++;
    }
    const instance = new wa.Instance(compiled, { env: { memory: this.heap.memory } });
    const entry = { fn: instance.exports.kernel as KernelFn, module: compiled };
    this.instances.set(text, entry);
    return entry;
  }

  /** The scratch block (row caches), grown to at least `bytes`. */
  private scratchFor(bytes: number): number {
    if (bytes > this.scratchSize) {
      if (this.scratch) this.heap.free(this.scratch);
      this.scratch = this.heap.alloc(bytes);
      this.scratchSize = bytes;
    }
    return this.scratch;
  }

  dispatch(
    prepared: unknown,
    kernel: Kernel,
    inputs: readonly DeviceBuffer[],
    outputs: readonly DeviceBuffer[],
    args: readonly number[],
  ): void {
    const p = prepared as PreparedKernel;
    const params = [...inputs.map((b) => (b as WasmBuffer).ptr), ...outputs.map((b) => (b as WasmBuffer).ptr), ...args];
    const ranges = this.split(p);
    const stride = Math.ceil(p.scratchBytes / SCRATCH_ALIGN) * SCRATCH_ALIGN;
    const scratch = stride ? this.scratchFor(stride * ranges.length) : 0;
    const chunks: Chunk[] = ranges.map(([lo, hi], t) => ({ lo, hi, scratch: scratch + t * stride }));
    try {
      if (chunks.length === 1) p.fn(...params, chunks[0].lo, chunks[0].hi, chunks[0].scratch);
      else {
        const pool = this.threadPool();
        this.parallelLaunches++;
        try {
          pool.launch(kernel.name, p.fn, pool.moduleId(p.module), params, chunks);
        } catch (e) {
          // The next launch starts a fresh pool.
          pool.terminate();
          throw e;
        }
      }
    } catch (e) {
      const RuntimeError = webAssembly()?.RuntimeError;
      if (RuntimeError && e instanceof RuntimeError)
        throw new LazygradError(`wasm kernel ${kernel.name} failed: ${(e as Error).message}`, { cause: e });
      throw e;
    }
  }

  /**
   * The ranges of a launch, one per thread: the parallel axis cut at
   * multiples of its grain into near-equal parts, or the whole kernel on
   * the calling thread when it is too small to pay for waking workers.
   */
  private split(p: PreparedKernel): [number, number][] {
    const par = p.parallel;
    if (!par) return [[0, 0]];
    const units = Math.ceil(par.extent / par.grain);
    const n = Math.min(this.threads, units);
    if (n < 2 || p.work < threadSettings.minParallelWork) return [[0, par.extent]];
    return Array.from({ length: n }, (_, t): [number, number] => [
      Math.floor((t * units) / n) * par.grain,
      Math.min(par.extent, Math.floor(((t + 1) * units) / n) * par.grain),
    ]);
  }

  /** The thread pool: threads - 1 workers beside the calling thread (re-created when the setting changed). */
  private threadPool(): ThreadPool {
    if (this.pool && (this.pool.size !== this.threads - 1 || this.pool.lost)) {
      this.pool.terminate();
      this.pool = undefined;
    }
    this.pool ??= new ThreadPool(this.heap.memory, this.threads - 1);
    return this.pool;
  }

  run(
    exe: CompiledPlan,
    params: readonly DeviceBuffer[],
    captures: readonly DeviceBuffer[],
    scalars: readonly number[],
    opts?: RunOptions,
  ): DeviceBuffer[] {
    return runPlan(this, exe, params, captures, scalars, opts);
  }
}

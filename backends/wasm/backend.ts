/**
 * The `wasm` backend: every kernel becomes a WebAssembly module (SIMD128)
 * generated from the kernel plan (codegen.ts, encoded by encoder.ts),
 * compiled once and cached by its text, so graphs that differ only in
 * scalar values reuse compiled kernels. All buffers live in one
 * `WebAssembly.Memory` managed by `WasmHeap`; `download` returns a copy (a
 * view would detach when the memory grows), `free` returns the block.
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
import { type WasmModule, hasRelaxedSimd, webAssembly } from './webassembly';

export interface WasmBuffer extends DeviceBuffer {
  /** Byte offset of the block in the backend's memory. */
  readonly ptr: number;
  freed: boolean;
}

type KernelFn = (...args: number[]) => void;

interface PreparedKernel {
  readonly fn: KernelFn;
  readonly scratchBytes: number;
}

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
  readonly heap = new WasmHeap();
  private compiles = 0;
  /** Instances of compiled modules over this backend's memory, by module text. */
  private readonly instances = new Map<string, KernelFn>();
  private scratch = 0;
  private scratchSize = 0;

  private readonly relaxed = hasRelaxedSimd();

  constructor() {
    this.mode = this.relaxed ? 'simd128+relaxed' : 'simd128';
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
      const gen = generateWasmKernel(k, { inputSizes, relaxedSimd: this.relaxed });
      sources.push({ name: k.name, source: gen.text });
      return { fn: this.instantiate(k, gen.text, gen.bytes), scratchBytes: gen.scratchBytes };
    });
    return { plan, sources, prepared };
  }

  private instantiate(k: Kernel, text: string, bytes: Uint8Array): KernelFn {
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
    const fn = instance.exports.kernel as KernelFn;
    this.instances.set(text, fn);
    return fn;
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
    const { fn, scratchBytes } = prepared as PreparedKernel;
    const scratch = scratchBytes ? this.scratchFor(scratchBytes) : 0;
    try {
      fn(...inputs.map((b) => (b as WasmBuffer).ptr), ...outputs.map((b) => (b as WasmBuffer).ptr), ...args, scratch);
    } catch (e) {
      const RuntimeError = webAssembly()?.RuntimeError;
      if (RuntimeError && e instanceof RuntimeError)
        throw new LazygradError(`wasm kernel ${kernel.name} failed: ${(e as Error).message}`, { cause: e });
      throw e;
    }
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

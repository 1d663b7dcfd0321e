/**
 * The backend interface: device primitives (allocate, upload, download,
 * free, compile a plan's kernels, dispatch one kernel) that the shared plan
 * executor (executor.ts) drives, plus what the rest of lazygrad reads: its
 * name, mode and limits (as plain data for the passes, `BackendLimits`).
 */
import { type BackendLimits, type DType, type Kernel, type KernelPlan, LazygradError, MAX_ELEMENTS } from '../ir';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A buffer owned by a backend. Opaque outside its backend. */
export interface DeviceBuffer {
  readonly dtype: DType;
  readonly size: number;
}

export interface CompiledPlan {
  readonly plan: KernelPlan;
  /** Generated source of every kernel, in plan order. */
  readonly sources: readonly { readonly name: string; readonly source: string }[];
  /** The backend's runnable form of every kernel, in plan order: what `dispatch` receives. */
  readonly prepared: readonly unknown[];
}

export interface AllocateOptions {
  /** The caller writes every element before anything reads it (a kernel output): zeroing may be skipped. */
  readonly uninitialised?: boolean;
  /** Lives for one run only and comes back through `recycle` (or `free`) at its end: it may come from a pool. */
  readonly temporary?: boolean;
}

export interface KernelTiming {
  readonly kernel: Kernel;
  readonly ms: number;
}

export interface RunOptions {
  /** Called after each kernel with its wall time (backends wait for the kernel first). */
  readonly onKernel?: (t: KernelTiming) => void;
  /** Input buffers the plan may overwrite (donated), by parameter index. */
  readonly donated?: ReadonlySet<number>;
}

export interface Backend {
  readonly name: string;
  /** How it runs (e.g. 'js', 'js-float64', 'headlessgl'). */
  readonly mode: string;
  readonly limits: BackendLimits;
  /** Kernels compiled so far (a cache hit does not count). */
  readonly compileCount: number;
  /** Whether buffers hold resources that `free` must release (GPU textures); garbage-collected ones need no finalizer. */
  readonly freesBuffers: boolean;
  /**
   * Whether `download` returns the buffer's own memory (js: the typed array
   * kernels write), rather than a host copy (gpujs). Such memory, once handed
   * to the user, must not be overwritten by an in-place (donated) update.
   */
  readonly downloadIsView: boolean;
  /**
   * Whether kernels write into storage allocated before they run (typed
   * arrays): then temporaries of one plan slot share one buffer for the run,
   * and an output may take over the donated input it aliases (`aliasOf`).
   * Where every kernel result is fresh storage (immutable textures), each
   * temporary gets its own buffer, freed after its last reader, and donated
   * inputs are freed after the run instead.
   */
  readonly writesInPlace: boolean;
  /** File extension of the generated kernel source (`LAZYGRAD_DUMP`); `js` when absent. */
  readonly sourceExtension?: string;
  /** Whether f32 kernel arguments stay float64 (gradient checks); otherwise they are rounded to float32. */
  readonly float64Scalars: boolean;
  upload(dtype: DType, data: ArrayLike<number>): DeviceBuffer;
  /** The values on the host; callers must not write to the result. */
  download(buf: DeviceBuffer): TypedArray;
  free(buf: DeviceBuffer): void;
  /** A buffer for a kernel to write (its storage may appear only when a kernel writes it). */
  allocate(dtype: DType, size: number, opts?: AllocateOptions): DeviceBuffer;
  /** A buffer of its own with the same values (default: download and upload). */
  copy?(buf: DeviceBuffer): DeviceBuffer;
  /** Gives a temporary back at the end of a run, for later runs to reuse (default: `free`). */
  recycle?(buf: DeviceBuffer): void;
  /** Throws a LazygradError naming `what` if `buf` can no longer be read (freed). */
  checkLive?(buf: DeviceBuffer, what: string): void;
  /** Generates and compiles every kernel of a plan (cached by source where the backend can). */
  compile(plan: KernelPlan): CompiledPlan;
  /** Runs one kernel: `prepared` is its entry of `CompiledPlan.prepared`; buffers by input slot and output. */
  dispatch(
    prepared: unknown,
    kernel: Kernel,
    inputs: readonly DeviceBuffer[],
    outputs: readonly DeviceBuffer[],
    args: readonly number[],
  ): void;
  /** Waits until dispatched work is done (for per-kernel times); absent where dispatch is synchronous. */
  finish?(): void;
  /** Releases what the backend kept for one run only (gpujs: per-run textures of small host buffers). */
  endRun?(): void;
  /** Runs a compiled plan (backends delegate to `runPlan`); returns its output buffers (fresh, owned by the caller). */
  run(
    exe: CompiledPlan,
    params: readonly DeviceBuffer[],
    captures: readonly DeviceBuffer[],
    scalars: readonly number[],
    opts?: RunOptions,
  ): DeviceBuffer[];
}

/** Throws a LazygradError unless `size` is an element count a buffer may have (0 to 2^31 - 1). */
export function checkBufferSize(dtype: DType, size: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_ELEMENTS)
    throw new LazygradError(`cannot allocate a ${dtype} buffer of ${size} elements (at most 2^31 - 1)`);
}

/** Smallest array (elements) worth allocating without zeroing. */
const UNZEROED_MIN = 1 << 14;

/**
 * Typed array for a dtype; `float64` stores f32 in doubles (gradient checks).
 * `uninitialised`: the caller writes every element before anything reads it
 * (a kernel output), so on Node large arrays skip the zero-fill (a fresh
 * 4 MB output cost about a quarter of a memory-bound 1M-element kernel).
 */
export function arrayFor(dtype: DType, size: number, float64 = false, uninitialised = false): TypedArray {
  checkBufferSize(dtype, size);
  const Ctor = dtype === 'f32' ? (float64 ? Float64Array : Float32Array) : dtype === 'i32' ? Int32Array : Uint8Array;
  const bytes = size * Ctor.BYTES_PER_ELEMENT;
  try {
    // An unpooled Buffer owns its whole ArrayBuffer, at offset 0 (Node's Buffers stop at 4 GiB).
    if (uninitialised && size >= UNZEROED_MIN && bytes <= 2 ** 32 && typeof Buffer !== 'undefined')
      return new Ctor(Buffer.allocUnsafeSlow(bytes).buffer, 0, size);
    return new Ctor(size);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new LazygradError(`cannot allocate a ${dtype} buffer of ${size} elements (${bytes} bytes): out of memory`);
  }
}

/**
 * The backend interface: compile a plan's kernels, manage buffers, run a
 * plan. Its limits reach the passes as plain data (`BackendLimits`).
 */
import { type BackendLimits, type DType, type Kernel, type KernelPlan, LazygradError } from '../ir';

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
  upload(dtype: DType, data: ArrayLike<number>): DeviceBuffer;
  /** The values on the host; callers must not write to the result. */
  download(buf: DeviceBuffer): TypedArray;
  free(buf: DeviceBuffer): void;
  compile(plan: KernelPlan): CompiledPlan;
  /** Runs a compiled plan; returns its output buffers (fresh, owned by the caller). */
  run(
    exe: CompiledPlan,
    params: readonly DeviceBuffer[],
    captures: readonly DeviceBuffer[],
    scalars: readonly number[],
    opts?: RunOptions,
  ): DeviceBuffer[];
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
  if (!Number.isSafeInteger(size) || size < 0 || size > 2 ** 31 - 1) {
    throw new LazygradError(`cannot allocate a ${dtype} buffer of ${size} elements (at most 2^31 - 1)`);
  }
  const Ctor = dtype === 'f32' ? (float64 ? Float64Array : Float32Array) : dtype === 'i32' ? Int32Array : Uint8Array;
  if (uninitialised && size >= UNZEROED_MIN && typeof Buffer !== 'undefined') {
    // An unpooled Buffer owns its whole ArrayBuffer, at offset 0.
    return new Ctor(Buffer.allocUnsafeSlow(size * Ctor.BYTES_PER_ELEMENT).buffer, 0, size);
  }
  return new Ctor(size);
}

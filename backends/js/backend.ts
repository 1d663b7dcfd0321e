/**
 * The `js` backend: kernels become JavaScript source over typed arrays,
 * compiled once with `new Function` and cached by source, so graphs that
 * differ only in scalar values (kernel arguments) reuse compiled kernels.
 * In float64 mode (for gradient checks) f32 data lives in Float64Arrays and
 * the same kernels run over them.
 */
import type { BackendLimits, DType, Kernel, KernelPlan } from '../../ir';
import {
  type AllocateOptions,
  type Backend,
  type CompiledPlan,
  type DeviceBuffer,
  type RunOptions,
  type TypedArray,
  arrayFor,
} from '../backend';
import { runPlan } from '../executor';
import { generateKernelSource } from './codegen';
import { instantiateKernel } from './op-table';

type KernelFn = (ins: TypedArray[], outs: TypedArray[], args: readonly number[]) => void;

export interface JsBuffer extends DeviceBuffer {
  readonly data: TypedArray;
}

/** Kernel functions by source, shared by every js backend instance. */
const kernelCache = new Map<string, KernelFn>();

/** The most free temporaries of one `dtype:size` kept for later runs. */
const POOL_DEPTH = 8;

export class JsBackend implements Backend {
  readonly name = 'js';
  readonly limits: BackendLimits = {
    maxKernelInputs: Infinity,
    multiReduceKernels: true,
    inPlaceWithinKernel: true,
    rowCache: true,
    minStoredInnerDot: 256,
  };
  readonly mode: string;
  readonly freesBuffers = false;
  readonly downloadIsView = true;
  readonly writesInPlace = true;
  private compiles = 0;
  /** Free temporaries by `dtype:size`, reused across runs. */
  private readonly pool = new Map<string, TypedArray[]>();

  constructor(readonly float64 = false) {
    this.mode = float64 ? 'js-float64' : 'js';
  }

  get float64Scalars(): boolean {
    return this.float64;
  }

  get compileCount(): number {
    return this.compiles;
  }

  upload(dtype: DType, data: ArrayLike<number>): JsBuffer {
    const arr = arrayFor(dtype, data.length, this.float64);
    arr.set(data as ArrayLike<number>);
    return { dtype, size: data.length, data: arr };
  }

  download(buf: DeviceBuffer): TypedArray {
    return (buf as JsBuffer).data;
  }

  free(_buf: DeviceBuffer): void {
    // Typed arrays are garbage collected.
  }

  allocate(dtype: DType, size: number, opts: AllocateOptions = {}): JsBuffer {
    const pooled = opts.temporary ? this.pool.get(`${dtype}:${size}`)?.pop() : undefined;
    return { dtype, size, data: pooled ?? arrayFor(dtype, size, this.float64, opts.uninitialised) };
  }

  recycle(buf: DeviceBuffer): void {
    const key = `${buf.dtype}:${buf.size}`;
    const list = this.pool.get(key) ?? [];
    if (list.length < POOL_DEPTH) list.push((buf as JsBuffer).data);
    this.pool.set(key, list);
  }

  compile(plan: KernelPlan): CompiledPlan {
    const sources = plan.kernels.map((k) => ({ name: k.name, source: generateKernelSource(k) }));
    const prepared = sources.map(({ source }) => {
      let fn = kernelCache.get(source);
      if (!fn) {
        fn = instantiateKernel(source) as KernelFn;
        kernelCache.set(source, fn);
        this.compiles++;
      }
      return fn;
    });
    return { plan, sources, prepared };
  }

  dispatch(
    prepared: unknown,
    _kernel: Kernel,
    inputs: readonly DeviceBuffer[],
    outputs: readonly DeviceBuffer[],
    args: readonly number[],
  ): void {
    (prepared as KernelFn)(
      inputs.map((b) => (b as JsBuffer).data),
      outputs.map((b) => (b as JsBuffer).data),
      args,
    );
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

/**
 * The `js` backend: kernels become JavaScript source over typed arrays,
 * compiled once with `new Function` and cached by source, so graphs that
 * differ only in scalar values (kernel arguments) reuse compiled kernels.
 * In float64 mode (for gradient checks) f32 data lives in Float64Arrays and
 * the same kernels run over them.
 */
import { type BackendLimits, type DType, type KernelPlan, uniform } from '../../ir';
import {
  type Backend,
  type CompiledPlan,
  type DeviceBuffer,
  type RunOptions,
  type TypedArray,
  arrayFor,
} from '../backend';
import { generateKernelSource } from './codegen';

type KernelFn = (ins: TypedArray[], outs: TypedArray[], args: number[]) => void;

export interface JsBuffer extends DeviceBuffer {
  readonly data: TypedArray;
}

interface JsCompiled extends CompiledPlan {
  readonly fns: readonly KernelFn[];
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Kernel functions by source, shared by every js backend instance. */
const kernelCache = new Map<string, KernelFn>();

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
  private compiles = 0;
  /** Free temporaries by `dtype:size`, reused across runs. */
  private readonly pool = new Map<string, TypedArray[]>();

  constructor(readonly float64 = false) {
    this.mode = float64 ? 'js-float64' : 'js';
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

  compile(plan: KernelPlan): JsCompiled {
    const sources = plan.kernels.map((k) => ({ name: k.name, source: generateKernelSource(k) }));
    const fns = sources.map(({ source }) => {
      let fn = kernelCache.get(source);
      if (!fn) {
        fn = new Function('rnd', 'sigmoid', source)(uniform, sigmoid) as KernelFn;
        kernelCache.set(source, fn);
        this.compiles++;
      }
      return fn;
    });
    return { plan, sources, fns };
  }

  run(
    exe: CompiledPlan,
    params: readonly DeviceBuffer[],
    captures: readonly DeviceBuffer[],
    scalars: readonly number[],
    opts: RunOptions = {},
  ): DeviceBuffer[] {
    const { plan, fns } = exe as JsCompiled;
    const arrays: TypedArray[] = new Array(plan.buffers.length);
    const slots = new Map<number, TypedArray>();
    const taken: [string, TypedArray][] = [];
    for (const b of plan.buffers) {
      if (b.role === 'input') arrays[b.id] = (params[b.source!] as JsBuffer).data;
      else if (b.role === 'capture') arrays[b.id] = (captures[b.source!] as JsBuffer).data;
      else if (b.role === 'output') {
        // Kernels write every element of their outputs: no need to zero them first.
        arrays[b.id] =
          b.aliasOf !== undefined && opts.donated?.has(plan.buffers[b.aliasOf].source!)
            ? arrays[b.aliasOf]
            : arrayFor(b.dtype, b.size, this.float64, true);
      } else {
        let arr = slots.get(b.slot!);
        if (!arr) {
          const key = `${b.dtype}:${b.size}`;
          arr = this.pool.get(key)?.pop() ?? arrayFor(b.dtype, b.size, this.float64);
          slots.set(b.slot!, arr);
          taken.push([key, arr]);
        }
        arrays[b.id] = arr;
      }
    }
    const args = plan.scalars.map((s, i) =>
      s.dtype === 'f32' && !this.float64 ? Math.fround(scalars[i]) : scalars[i],
    );
    plan.kernels.forEach((k, i) => {
      const ins = k.inputs.map((b) => arrays[b]);
      const outs = k.outputs.map((o) => arrays[o.buffer]);
      const kargs = k.args.map((s) => args[s]);
      if (opts.onKernel) {
        const t0 = performance.now();
        fns[i](ins, outs, kargs);
        opts.onKernel({ kernel: k, ms: performance.now() - t0 });
      } else fns[i](ins, outs, kargs);
    });
    for (const [key, arr] of taken) {
      const list = this.pool.get(key) ?? [];
      if (list.length < 8) list.push(arr);
      this.pool.set(key, list);
    }
    return plan.outputs.map((id) => {
      const b = plan.buffers[id];
      return { dtype: b.dtype, size: b.size, data: arrays[id] } as JsBuffer;
    });
  }
}

/**
 * A backend in a few lines, for tests: typed arrays on the host, every
 * kernel evaluated by the reference interpreter (ir/kernel-eval.ts), plans
 * run by the shared executor. test/backends/registry.test.ts registers it by
 * name; the `reference` test project (vitest.config.ts) runs shared suites on it.
 */
import { type DType, type Kernel, type KernelPlan, evaluateKernel } from '../../ir';
import {
  type AllocateOptions,
  type Backend,
  type CompiledPlan,
  type DeviceBuffer,
  type RunOptions,
  type TypedArray,
  arrayFor,
} from '../../backends/backend';
import { runPlan } from '../../backends/executor';

interface ToyBuffer extends DeviceBuffer {
  readonly data: TypedArray;
}

/** A backend in a few lines: typed arrays on the host, kernels evaluated by the reference interpreter. */
export class InterpreterBackend implements Backend {
  readonly mode = 'reference';
  readonly limits = { maxKernelInputs: Infinity, multiReduceKernels: true, inPlaceWithinKernel: true };
  readonly compileCount = 0;
  readonly freesBuffers = false;
  readonly downloadIsView = true;
  readonly writesInPlace = true;
  readonly float64Scalars = false;
  dispatched = 0;

  constructor(readonly name: string) {}

  upload(dtype: DType, data: ArrayLike<number>): ToyBuffer {
    const buf = this.allocate(dtype, data.length);
    buf.data.set(data);
    return buf;
  }
  download(buf: DeviceBuffer): TypedArray {
    return (buf as ToyBuffer).data;
  }
  free(): void {}
  allocate(dtype: DType, size: number, _opts?: AllocateOptions): ToyBuffer {
    return { dtype, size, data: arrayFor(dtype, size) };
  }
  compile(plan: KernelPlan): CompiledPlan {
    const sources = plan.kernels.map((k) => ({ name: k.name, source: `// interpreted: ${k.ops.join(', ')}` }));
    return { plan, sources, prepared: plan.kernels.map(() => undefined) };
  }
  dispatch(
    _prepared: unknown,
    kernel: Kernel,
    inputs: readonly DeviceBuffer[],
    outputs: readonly DeviceBuffer[],
    args: readonly number[],
  ): void {
    this.dispatched++;
    const values = evaluateKernel(
      kernel,
      inputs.map((b) => (b as ToyBuffer).data),
      args,
    );
    outputs.forEach((b, i) => (b as ToyBuffer).data.set(values[i]));
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

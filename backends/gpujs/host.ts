/**
 * Host evaluation of a kernel, for what the GPU must not compute: the
 * `random` primitive (fusion makes it its own kernel on this backend), so
 * its numbers are exactly those of ir/random.ts, as on the js backend. It
 * runs the reference interpreter of kernel expressions (ir/kernel-eval.ts).
 */
import { type DType, type Kernel, evaluateKernel } from '../../ir';
import { type TypedArray, arrayFor } from '../backend';

/** Evaluates kernel `k` on host arrays; returns its output as a typed array of `dtype`. */
export function runOnHost(
  k: Kernel,
  ins: readonly ArrayLike<number>[],
  args: readonly number[],
  dtype: DType,
): TypedArray {
  const [values] = evaluateKernel(k, ins, args);
  const out = arrayFor(dtype, values.length);
  out.set(values);
  return out;
}

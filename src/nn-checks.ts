/** Argument checks shared by the nn layers: each names the layer and what it expected. */
import { DTypeError, LazygradError, ShapeError, fmtShape } from '../ir';
import { describeValue } from './option-check';
import { Tensor } from './tensor';

/** A float32 tensor argument. */
export function needFloatTensor(v: unknown, what: string, op: string): asserts v is Tensor {
  if (!(v instanceof Tensor)) throw new LazygradError(`${op}: ${what} must be a tensor, got ${describeValue(v)}`);
  if (v.dtype !== 'float32')
    throw new DTypeError(`${op}: ${what} must be a float32 tensor, got ${v.dtype}${fmtShape(v.shape)}`);
}

/** An object of float32 vectors of length `size` under `keys` (layer parameters, statistics). */
export function needVectors(
  p: unknown,
  keys: readonly string[],
  size: number,
  op: string,
  what: string,
  made: string,
): asserts p is Record<string, Tensor> {
  const q = p as Record<string, unknown> | null | undefined;
  const outline = `{${keys.join(', ')}}`;
  if (q === null || typeof q !== 'object' || !keys.every((k) => q[k] instanceof Tensor))
    throw new LazygradError(
      `${op}: expected ${what} ${outline} of tensors (as ${made} gives), got ${describeValue(p)}`,
    );
  for (const k of keys) {
    const t = q[k] as Tensor;
    if (t.ndim !== 1 || t.shape[0] !== size)
      throw new ShapeError(
        `${op}: ${what} ${k} has shape ${fmtShape(t.shape)}, expected [${size}] to fit the input (as ${made} gives)`,
      );
  }
}

/**
 * clip (alias clamp): numpy's `clip(x, min, max)` = minimum(maximum(x, min),
 * max), written with `where` so that the gradient is PyTorch's: 1 for x
 * where min <= x <= max (bounds included), and to a tensor bound where it is
 * the value taken. Either bound may be omitted (null or undefined), not
 * both; bounds broadcast against x and promote its dtype like any operand
 * (an int32 tensor clipped to 0.5 becomes float32). When min > max every
 * element is max, as in numpy. NaN in x stays NaN.
 */
import { DTypeError, LazygradError, fmtShape } from '../ir';
import { describeValue } from './option-check';
import { binary, guard, where } from './ops';
import { Tensor, type TensorLike } from './tensor-class';

type Bound = TensorLike | null | undefined;

function checkBound(op: string, name: string, v: unknown): void {
  if (v === null || v === undefined || typeof v === 'number' || v instanceof Tensor) return;
  throw new LazygradError(`${op}: ${name} must be a number, a tensor, null or undefined, got ${describeValue(v)}`);
}

export function clip(x: Tensor, min: Bound, max: Bound, op = 'clip'): Tensor {
  x._check(op);
  if (x._dtype === 'bool')
    throw new DTypeError(`${op}: expected a float32 or int32 tensor, got bool${fmtShape(x.shape)}`);
  checkBound(op, 'min', min);
  checkBound(op, 'max', max);
  const hasMin = min !== null && min !== undefined;
  const hasMax = max !== null && max !== undefined;
  if (!hasMin && !hasMax) throw new LazygradError(`${op}: expected at least one of min and max, got neither`);
  return guard(op, () => {
    let y: Tensor = x;
    if (hasMin) y = where(binary('lt', y, min), min, y);
    if (hasMax) y = where(binary('gt', y, max), max, y);
    return y;
  });
}

/**
 * logicalAnd, logicalOr, logicalNot (numpy's logical_*): any operand counts
 * as true where it is non-zero (NaN included, as in numpy); the result is
 * bool. Numbers and booleans broadcast like any operand.
 */
import { LazygradError } from '../ir';
import { describeValue } from './option-check';
import { binary, guard, unary } from './ops';
import { Tensor, type TensorLike } from './tensor-class';

function checkOperand(op: string, v: unknown): asserts v is TensorLike {
  if (v instanceof Tensor || typeof v === 'number' || typeof v === 'boolean') return;
  throw new LazygradError(`${op}: expected a Tensor, number or boolean operand, got ${describeValue(v)}`);
}

export function logicalAnd(x: Tensor, o: TensorLike): Tensor {
  checkOperand('logicalAnd', o);
  return guard('logicalAnd', () => binary('and', x, o));
}

export function logicalOr(x: Tensor, o: TensorLike): Tensor {
  checkOperand('logicalOr', o);
  return guard('logicalOr', () => binary('or', x, o));
}

export function logicalNot(x: Tensor): Tensor {
  return guard('logicalNot', () => unary('not', x));
}

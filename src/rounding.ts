/**
 * floor, ceil and round. They are primitives, not compositions: a cast to
 * int32 and back would be wrong beyond |x| >= 2^31 (every float32 that large
 * is already an integer, but the cast wraps), and a `x + 2^23 - 2^23` trick
 * needs exact float32 arithmetic, which js kernels (float64 locals) do not
 * have. `round` is numpy's: ties to even (0.5 -> 0, 1.5 -> 2, -2.5 -> -2),
 * the sign of zero kept (round(-0.4) is -0). Their gradient is zero.
 *
 * int32 values are integers already and come back as they are (as
 * PyTorch); bool counts as int32, as in the other arithmetic ops.
 */
import { cast, unary } from './ops';
import type { Tensor } from './tensor-class';

export type RoundingOp = 'floor' | 'ceil' | 'round';

export function rounding(op: RoundingOp, x: Tensor): Tensor {
  x._check(op);
  if (x._dtype !== 'f32') return cast(x, 'int32');
  return unary(op, x);
}

/**
 * Variance and standard deviation over axes (numpy's var/std): the mean of
 * squared deviations from the mean, computed in two passes (the mean, then
 * the squared deviations), which stays accurate when the mean is large
 * against the spread (the one-pass E[x²] - E[x]² would cancel). `ddof`
 * (delta degrees of freedom) divides by N - ddof: 0 is the population
 * variance, 1 the unbiased sample variance; where N - ddof <= 0 the result
 * is Inf or NaN, as numpy's. int32 and bool inputs give float32.
 */
import { LazygradError, show } from '../ir';
import { checkOptions, rules } from './option-check';
import { binary, cast, mean, normAxes, sum, unary } from './ops';
import type { Axis, Tensor } from './tensor-class';

export interface VarianceOptions {
  /** Delta degrees of freedom: the divisor is N - ddof (default 0). */
  ddof?: number;
}

const VARIANCE_OPTIONS = { ddof: rules.nonNegative };

export function variance(x: Tensor, axis: Axis, keepdims: boolean, opts: VarianceOptions = {}, op = 'var'): Tensor {
  x._check(op);
  const { ddof = 0 } = checkOptions<VarianceOptions>(op, opts, VARIANCE_OPTIONS);
  const axes = normAxes(x, axis, op);
  if (typeof keepdims !== 'boolean')
    throw new LazygradError(`${op}: keepdims must be true or false, got ${show(keepdims)}`);
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  const xf = cast(x, 'float32');
  const deviation = binary('sub', xf, mean(xf, axes, true));
  const squares = sum(binary('mul', deviation, deviation), axes, keepdims);
  return binary('div', squares, Math.max(count - ddof, 0));
}

export function std(x: Tensor, axis: Axis, keepdims: boolean, opts: VarianceOptions = {}): Tensor {
  return unary('sqrt', variance(x, axis, keepdims, opts, 'std'));
}

/**
 * The Tensor that the rest of lazygrad and its users see: the class of
 * tensor-class.ts with its op methods, each a call of the function in ops.ts
 * that does the work. The methods are written here and installed on the
 * class's prototype because ops.ts creates tensors: the class itself cannot
 * import ops.ts without an import cycle. Importing Tensor from this module
 * is what guarantees that they are installed.
 */
import type { PublicDType } from '../ir';
import { Tensor, type TensorLike, type Axis } from './tensor-class';
import * as ops from './ops';
import { gelu, leakyRelu, logSigmoid, silu, softplus, type GeluOptions } from './activations';
import { clip } from './clip';
import { cumsum } from './cumsum';
import { erf } from './erf';
import { flip, repeat, tile } from './flip-tile-repeat';
import { logicalAnd, logicalNot, logicalOr } from './logical';
import { rounding } from './rounding';
import { std, variance, type VarianceOptions } from './statistics';
import * as indexing from './indexing';
import { backward as runBackward } from './backward';

export { Tensor, parseDType, type TensorLike, type Axis } from './tensor-class';

/** Tensor's op methods; tensor-class.ts merges their declarations into Tensor. */
export class TensorMethods {
  // ---- autodiff (PyTorch style) ----
  backward(this: Tensor, cotangent?: TensorLike): void {
    runBackward(this, cotangent);
  }
  detach(this: Tensor): Tensor {
    return ops.stopGradient(this);
  }

  // ---- elementwise ----
  add(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('add', this, o);
  }
  sub(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('sub', this, o);
  }
  mul(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('mul', this, o);
  }
  div(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('div', this, o);
  }
  pow(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('pow', this, o);
  }
  maximum(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('maximum', this, o);
  }
  minimum(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('minimum', this, o);
  }
  lt(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('lt', this, o);
  }
  le(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('le', this, o);
  }
  gt(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('gt', this, o);
  }
  ge(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('ge', this, o);
  }
  eq(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('eq', this, o);
  }
  ne(this: Tensor, o: TensorLike): Tensor {
    return ops.binary('ne', this, o);
  }
  neg(this: Tensor): Tensor {
    return ops.unary('neg', this);
  }
  abs(this: Tensor): Tensor {
    return ops.unary('abs', this);
  }
  exp(this: Tensor): Tensor {
    return ops.unary('exp', this);
  }
  log(this: Tensor): Tensor {
    return ops.unary('log', this);
  }
  sqrt(this: Tensor): Tensor {
    return ops.unary('sqrt', this);
  }
  sin(this: Tensor): Tensor {
    return ops.unary('sin', this);
  }
  cos(this: Tensor): Tensor {
    return ops.unary('cos', this);
  }
  tanh(this: Tensor): Tensor {
    return ops.unary('tanh', this);
  }
  sigmoid(this: Tensor): Tensor {
    return ops.unary('sigmoid', this);
  }
  log1p(this: Tensor): Tensor {
    return ops.unary('log1p', this);
  }
  expm1(this: Tensor): Tensor {
    return ops.unary('expm1', this);
  }
  sign(this: Tensor): Tensor {
    return ops.unary('sign', this);
  }
  relu(this: Tensor): Tensor {
    return ops.relu(this);
  }
  floor(this: Tensor): Tensor {
    return rounding('floor', this);
  }
  ceil(this: Tensor): Tensor {
    return rounding('ceil', this);
  }
  /** Nearest integer, ties to even (numpy): 0.5 -> 0, 1.5 -> 2, -2.5 -> -2. */
  round(this: Tensor): Tensor {
    return rounding('round', this);
  }
  /** Elementwise min(max(x, min), max); either bound may be null. */
  clip(this: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
    return clip(this, min, max);
  }
  /** Alias of clip. */
  clamp(this: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
    return clip(this, min, max, 'clamp');
  }
  erf(this: Tensor): Tensor {
    return erf(this._dtype === 'f32' ? this : ops.cast(this, 'float32'));
  }
  gelu(this: Tensor, opts?: GeluOptions): Tensor {
    return gelu(this, opts);
  }
  silu(this: Tensor): Tensor {
    return silu(this);
  }
  leakyRelu(this: Tensor, slope = 0.01): Tensor {
    return leakyRelu(this, slope);
  }
  softplus(this: Tensor): Tensor {
    return softplus(this);
  }
  logSigmoid(this: Tensor): Tensor {
    return logSigmoid(this);
  }
  logicalAnd(this: Tensor, o: TensorLike): Tensor {
    return logicalAnd(this, o);
  }
  logicalOr(this: Tensor, o: TensorLike): Tensor {
    return logicalOr(this, o);
  }
  logicalNot(this: Tensor): Tensor {
    return logicalNot(this);
  }
  square(this: Tensor): Tensor {
    return this.mul(this);
  }
  cast(this: Tensor, dtype: PublicDType): Tensor {
    return ops.cast(this, dtype);
  }

  // ---- reductions ----
  sum(this: Tensor, axis?: Axis, keepdims = false): Tensor {
    return ops.sum(this, axis, keepdims);
  }
  mean(this: Tensor, axis?: Axis, keepdims = false): Tensor {
    return ops.mean(this, axis, keepdims);
  }
  max(this: Tensor, axis?: Axis, keepdims = false): Tensor {
    return ops.max(this, axis, keepdims);
  }
  min(this: Tensor, axis?: Axis, keepdims = false): Tensor {
    return ops.min(this, axis, keepdims);
  }
  argmax(this: Tensor, axis?: number, keepdims = false): Tensor {
    return ops.argmax(this, axis, keepdims);
  }
  argmin(this: Tensor, axis?: number, keepdims = false): Tensor {
    return ops.argmax(ops.reverseOrder(this._dtype === 'bool' ? ops.cast(this, 'int32') : this), axis, keepdims);
  }
  softmax(this: Tensor, axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  logSoftmax(this: Tensor, axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }
  logsumexp(this: Tensor, axis?: Axis, keepdims = false): Tensor {
    return ops.logsumexp(this, axis, keepdims);
  }
  /** Variance over axes (all when omitted); `ddof` 1 for the unbiased sample variance. */
  var(this: Tensor, axis?: Axis, keepdims = false, opts?: VarianceOptions): Tensor {
    return variance(this, axis, keepdims, opts);
  }
  std(this: Tensor, axis?: Axis, keepdims = false, opts?: VarianceOptions): Tensor {
    return std(this, axis, keepdims, opts);
  }
  /** Inclusive prefix sums along `axis` (of the flattened tensor when omitted). */
  cumsum(this: Tensor, axis?: number): Tensor {
    return cumsum(this, axis);
  }
  matmul(this: Tensor, o: Tensor): Tensor {
    return ops.matmul(this, o);
  }

  // ---- movement ----
  reshape(this: Tensor, shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  transpose(this: Tensor, perm?: readonly number[]): Tensor {
    return ops.transpose(this, perm);
  }
  expand(this: Tensor, shape: readonly number[]): Tensor {
    return ops.expand(this, shape);
  }
  squeeze(this: Tensor, axis?: Axis): Tensor {
    return ops.squeeze(this, axis);
  }
  unsqueeze(this: Tensor, axis: number): Tensor {
    return ops.unsqueeze(this, axis);
  }
  flatten(this: Tensor): Tensor {
    return ops.reshape(this, [-1]);
  }
  slice(
    this: Tensor,
    starts: readonly (number | null | undefined)[],
    ends?: readonly (number | null | undefined)[],
    steps?: readonly (number | null | undefined)[],
  ): Tensor {
    return ops.slice(this, starts, ends, steps);
  }
  pad(this: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
    return ops.pad(this, pads, value);
  }
  oneHot(this: Tensor, depth: number): Tensor {
    return ops.oneHot(this, depth);
  }
  /** Reverses the order of elements along `axes` (all axes when omitted). */
  flip(this: Tensor, axes?: Axis): Tensor {
    return flip(this, axes);
  }
  /** Repeats the whole tensor reps[d] times along each axis d (numpy's tile). */
  tile(this: Tensor, reps: number | readonly number[]): Tensor {
    return tile(this, reps);
  }
  /** Repeats each element n times along `axis` (of the flattened tensor when omitted). */
  repeat(this: Tensor, n: number, axis?: number): Tensor {
    return repeat(this, n, axis);
  }

  // ---- indexing by integer tensors ----
  /** numpy `take`: the elements at `indices` along `axis` (no axis: of the flattened tensor). */
  take(this: Tensor, indices: Tensor | number, axis?: number | null): Tensor {
    return indexing.take(this, indices, axis);
  }
  /** numpy `take_along_axis`: `out[p] = x[p with p[axis] = indices[p]]`. */
  gather(this: Tensor, axis: number, indices: Tensor | number): Tensor {
    return indexing.gather(this, axis, indices);
  }
}

for (const name of Object.getOwnPropertyNames(TensorMethods.prototype)) {
  if (name !== 'constructor')
    Object.defineProperty(Tensor.prototype, name, Object.getOwnPropertyDescriptor(TensorMethods.prototype, name)!);
}

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
}

for (const name of Object.getOwnPropertyNames(TensorMethods.prototype)) {
  if (name !== 'constructor')
    Object.defineProperty(Tensor.prototype, name, Object.getOwnPropertyDescriptor(TensorMethods.prototype, name)!);
}

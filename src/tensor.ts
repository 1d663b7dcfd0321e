/**
 * The lazy Tensor: a handle on one value of the IR graph. Operations add
 * nodes; nothing runs until a value is asked for. A tensor that depends on a
 * `requiresGrad` leaf also carries the graph `backward()` needs (`_gv`),
 * which survives realisation; its compute value (`_v`) becomes a buffer leaf
 * once realised, so eager loops do not grow their graphs.
 */
import { type DType, type PublicDType, type Value, LazygradError, fromPublic, toPublic, sizeOf, show } from '../ir';
import type { TypedArray } from '../backends/backend';
import type { Storage } from './storage';
import * as ops from './ops';
import { realizeTensors, readTensor } from './realize';
import { backward as runBackward } from './backward';

export type TensorLike = Tensor | number | boolean;
export type Axis = number | readonly number[] | undefined | null;

export class Tensor {
  /** @internal Compute value: a lazy node, or a buffer leaf once realised. */
  _v: Value;
  /** @internal Graph kept for `backward()`: present when this depends on a requiresGrad leaf. */
  _gv?: Value;
  /** @internal Set by dispose(). */
  _disposed = false;
  /** Gradient filled by `backward()`; null for tensors without requiresGrad. */
  grad: Tensor | null = null;
  private _requiresGrad = false;

  /** @internal */
  constructor(v: Value, gv?: Value) {
    this._v = v;
    this._gv = gv;
  }

  get shape(): number[] {
    return [...this._v.shape];
  }
  get dtype(): PublicDType {
    return toPublic(this._v.dtype);
  }
  /** @internal IR dtype. */
  get _dtype(): DType {
    return this._v.dtype;
  }
  get ndim(): number {
    return this._v.shape.length;
  }
  get size(): number {
    return sizeOf(this._v.shape);
  }
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(on: boolean) {
    if (on && this._v.dtype !== 'f32')
      throw new LazygradError(
        `requiresGrad: only float32 tensors can require gradients, this one is ${this.dtype}[${this.shape}]`,
      );
    if (on && !this._requiresGrad) {
      this.realize();
      this._gv = this._v;
      ops.markGradLeaf(this);
    }
    this._requiresGrad = on;
  }

  /** @internal The storage of a realised tensor. */
  get _storage(): Storage | undefined {
    return this._v.node.op === 'buffer' ? (this._v.node.data as Storage) : undefined;
  }

  /** @internal Throws if this tensor can no longer be used. */
  _check(what: string): void {
    if (this._disposed) throw new LazygradError(`${what}: the tensor was disposed; it cannot be used any more`);
    this._storage?.check(what);
  }

  // ---- realisation ----
  realize(): this {
    realizeTensors([this]);
    return this;
  }
  /**
   * The values as a flat typed array, without a copy: treat it as read-only
   * (tensors are immutable; `.slice()` it for a copy to change).
   */
  dataSync(): TypedArray {
    return readTensor(this, 'dataSync', true);
  }
  /** `dataSync`, as a promise. */
  async data(): Promise<TypedArray> {
    return readTensor(this, 'data', true);
  }
  toArray(): unknown {
    const data = readTensor(this, 'toArray', false);
    const bool = this._v.dtype === 'bool';
    const conv = (x: number) => (bool ? x !== 0 : x);
    const shape = this._v.shape;
    if (shape.length === 0) return conv(data[0]);
    const build = (dim: number, offset: number): unknown[] => {
      const n = shape[dim];
      const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const out = new Array(n);
      for (let i = 0; i < n; i++)
        out[i] = dim === shape.length - 1 ? conv(data[offset + i]) : build(dim + 1, offset + i * stride);
      return out;
    };
    return build(0, 0);
  }
  item(): number | boolean {
    this._check('item');
    if (this.size !== 1)
      throw new LazygradError(
        `item: expected a tensor with exactly one element, got shape [${this.shape}] (${this.size} elements)`,
      );
    const v = readTensor(this, 'item', false)[0];
    return this._v.dtype === 'bool' ? v !== 0 : v;
  }
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._storage?.release('disposed');
  }
  toString(): string {
    return `Tensor(${this.dtype}[${this.shape.join(',')}])`;
  }

  // ---- autodiff (PyTorch style) ----
  backward(cotangent?: TensorLike): void {
    runBackward(this, cotangent);
  }
  zeroGrad(): void {
    this.grad = null;
  }
  detach(): Tensor {
    return ops.stopGradient(this);
  }

  // ---- elementwise ----
  add(o: TensorLike): Tensor {
    return ops.binary('add', this, o);
  }
  sub(o: TensorLike): Tensor {
    return ops.binary('sub', this, o);
  }
  mul(o: TensorLike): Tensor {
    return ops.binary('mul', this, o);
  }
  div(o: TensorLike): Tensor {
    return ops.binary('div', this, o);
  }
  pow(o: TensorLike): Tensor {
    return ops.binary('pow', this, o);
  }
  maximum(o: TensorLike): Tensor {
    return ops.binary('maximum', this, o);
  }
  minimum(o: TensorLike): Tensor {
    return ops.binary('minimum', this, o);
  }
  lt(o: TensorLike): Tensor {
    return ops.binary('lt', this, o);
  }
  le(o: TensorLike): Tensor {
    return ops.binary('le', this, o);
  }
  gt(o: TensorLike): Tensor {
    return ops.binary('gt', this, o);
  }
  ge(o: TensorLike): Tensor {
    return ops.binary('ge', this, o);
  }
  eq(o: TensorLike): Tensor {
    return ops.binary('eq', this, o);
  }
  ne(o: TensorLike): Tensor {
    return ops.binary('ne', this, o);
  }
  neg(): Tensor {
    return ops.unary('neg', this);
  }
  abs(): Tensor {
    return ops.unary('abs', this);
  }
  exp(): Tensor {
    return ops.unary('exp', this);
  }
  log(): Tensor {
    return ops.unary('log', this);
  }
  sqrt(): Tensor {
    return ops.unary('sqrt', this);
  }
  sin(): Tensor {
    return ops.unary('sin', this);
  }
  cos(): Tensor {
    return ops.unary('cos', this);
  }
  tanh(): Tensor {
    return ops.unary('tanh', this);
  }
  sigmoid(): Tensor {
    return ops.unary('sigmoid', this);
  }
  log1p(): Tensor {
    return ops.unary('log1p', this);
  }
  expm1(): Tensor {
    return ops.unary('expm1', this);
  }
  sign(): Tensor {
    return ops.unary('sign', this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  square(): Tensor {
    return this.mul(this);
  }
  cast(dtype: PublicDType): Tensor {
    return ops.cast(this, dtype);
  }

  // ---- reductions ----
  sum(axis?: Axis, keepdims = false): Tensor {
    return ops.sum(this, axis, keepdims);
  }
  mean(axis?: Axis, keepdims = false): Tensor {
    return ops.mean(this, axis, keepdims);
  }
  max(axis?: Axis, keepdims = false): Tensor {
    return ops.max(this, axis, keepdims);
  }
  min(axis?: Axis, keepdims = false): Tensor {
    return ops.min(this, axis, keepdims);
  }
  argmax(axis?: number, keepdims = false): Tensor {
    return ops.argmax(this, axis, keepdims);
  }
  argmin(axis?: number, keepdims = false): Tensor {
    return ops.argmax(ops.unary('neg', this), axis, keepdims);
  }
  softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }
  logsumexp(axis: Axis = -1, keepdims = false): Tensor {
    return ops.logsumexp(this, axis, keepdims);
  }
  matmul(o: Tensor): Tensor {
    return ops.matmul(this, o);
  }

  // ---- movement ----
  reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  transpose(perm?: readonly number[]): Tensor {
    return ops.transpose(this, perm);
  }
  expand(shape: readonly number[]): Tensor {
    return ops.expand(this, shape);
  }
  squeeze(axis?: Axis): Tensor {
    return ops.squeeze(this, axis);
  }
  unsqueeze(axis: number): Tensor {
    return ops.unsqueeze(this, axis);
  }
  flatten(): Tensor {
    return ops.reshape(this, [-1]);
  }
  slice(
    starts: readonly (number | null | undefined)[],
    ends?: readonly (number | null | undefined)[],
    steps?: readonly (number | null | undefined)[],
  ): Tensor {
    return ops.slice(this, starts, ends, steps);
  }
  pad(pads: readonly (readonly [number, number])[], value = 0): Tensor {
    return ops.pad(this, pads, value);
  }
  oneHot(depth: number): Tensor {
    return ops.oneHot(this, depth);
  }
}

/** @internal Parses a public dtype name. */
export function parseDType(d: string, what: string): DType {
  const t = fromPublic(d);
  if (!t) throw new LazygradError(`${what}: unknown dtype ${show(d)} (expected 'float32', 'int32' or 'bool')`);
  return t;
}

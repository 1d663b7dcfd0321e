/**
 * The Tensor class: a handle on one value of the IR graph. Operations add
 * nodes; nothing runs until a value is asked for. A tensor that depends on a
 * `requiresGrad` leaf also carries the graph `backward()` needs
 * (`_autogradValue`), which survives realisation; its compute value
 * (`_value`) becomes a buffer leaf once realised, so eager loops do not grow
 * their graphs. The op methods (`add`, `sum`, `reshape`, ...) are installed
 * by tensor.ts, which is where everything else imports Tensor from: ops.ts
 * creates tensors, so this class cannot import ops.ts without a cycle.
 */
import { type DType, type PublicDType, type Value, LazygradError, fromPublic, toPublic, sizeOf, show } from '../ir';
import type { TypedArray } from '../backends/backend';
import type { Storage } from './storage';
import type { TensorMethods } from './tensor';
import { markGradLeaf } from './grad-leaves';
import { realizeTensors, readTensor } from './realize';

export type TensorLike = Tensor | number | boolean;
export type Axis = number | readonly number[] | undefined | null;

// The op methods are declared by merging (TensorMethods) and installed on the prototype by tensor.ts.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface Tensor extends TensorMethods {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class Tensor {
  /** @internal The IR value that computes this tensor: a lazy node, or a buffer leaf once realised. */
  _value: Value;
  /**
   * @internal The same value as a graph over the requiresGrad leaves it depends on, kept for
   * `backward()` through realisation; absent when it depends on none.
   */
  _autogradValue?: Value;
  /** @internal Set by dispose(). */
  _disposed = false;
  /** Gradient filled by `backward()`; null for tensors without requiresGrad. */
  grad: Tensor | null = null;
  private _requiresGrad = false;

  /** @internal */
  constructor(value: Value, autogradValue?: Value) {
    this._value = value;
    this._autogradValue = autogradValue;
  }

  get shape(): number[] {
    return [...this._value.shape];
  }
  get dtype(): PublicDType {
    return toPublic(this._value.dtype);
  }
  /** @internal IR dtype. */
  get _dtype(): DType {
    return this._value.dtype;
  }
  get ndim(): number {
    return this._value.shape.length;
  }
  get size(): number {
    return sizeOf(this._value.shape);
  }
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(on: boolean) {
    if (on && this._value.dtype !== 'f32')
      throw new LazygradError(
        `requiresGrad: only float32 tensors can require gradients, this one is ${this.dtype}[${this.shape}]`,
      );
    if (on && !this._requiresGrad) {
      this.realize();
      this._autogradValue = this._value;
      markGradLeaf(this);
    }
    this._requiresGrad = on;
  }

  /** @internal The storage of a realised tensor. */
  get _storage(): Storage | undefined {
    return this._value.node.op === 'buffer' ? (this._value.node.data as Storage) : undefined;
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
    const bool = this._value.dtype === 'bool';
    const conv = (x: number) => (bool ? x !== 0 : x);
    const shape = this._value.shape;
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
    return this._value.dtype === 'bool' ? v !== 0 : v;
  }
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._storage?.release('disposed');
  }
  toString(): string {
    return `Tensor(${this.dtype}[${this.shape.join(',')}])`;
  }

  // ---- autodiff (PyTorch style; `backward()` is installed by tensor.ts) ----
  zeroGrad(): void {
    this.grad = null;
  }
}

/** @internal Parses a public dtype name. */
export function parseDType(d: string, what: string): DType {
  const t = fromPublic(d);
  if (!t) throw new LazygradError(`${what}: unknown dtype ${show(d)} (expected 'float32', 'int32' or 'bool')`);
  return t;
}

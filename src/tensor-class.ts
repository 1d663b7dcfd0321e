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
import { isTraced } from './traced';

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
  /**
   * The values, printed like PyTorch: `tensor([[1, 2], [3, 4]], dtype=float32)`,
   * realising the tensor if needed and summarising each axis with `...`
   * beyond 1000 elements. A tensor whose values cannot exist (traced inside
   * jit or grad, disposed, donated) prints its type only, e.g.
   * `Tensor(traced float32[2,3])`.
   */
  toString(): string {
    const type = `${this.dtype}[${this.shape.join(',')}]`;
    if (this._disposed || this._storage?.state === 'disposed') return `Tensor(disposed ${type})`;
    if (this._storage?.state === 'donated') return `Tensor(donated ${type})`;
    if (isTraced(this)) return `Tensor(traced ${type})`;
    let data: TypedArray;
    try {
      data = readTensor(this, 'toString', false);
    } catch (e) {
      if (e instanceof LazygradError) return `Tensor(${type}, not readable: ${e.message})`;
      throw e;
    }
    return `tensor(${formatValues(data, this._value.shape, this._value.dtype)}, dtype=${this.dtype})`;
  }
  /** How Node's console.log and util.inspect show a tensor (no `node:util` import, so browsers need nothing). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // ---- autodiff (PyTorch style; `backward()` is installed by tensor.ts) ----
  zeroGrad(): void {
    this.grad = null;
  }
}

/** Beyond this many elements, printing shows the first and last EDGE entries of each axis. */
const SUMMARY_THRESHOLD = 1000;
const EDGE = 3;
const LINE_WIDTH = 80;

function formatNumber(x: number, dtype: DType): string {
  if (dtype === 'bool') return x !== 0 ? 'true' : 'false';
  if (dtype === 'i32' || !Number.isFinite(x) || Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(5)));
}

/** Nested brackets of `data` (row-major, `shape`), on one line if it fits, else one row per line. */
function formatValues(data: TypedArray, shape: readonly number[], dtype: DType): string {
  if (shape.length === 0) return formatNumber(data[0], dtype);
  const summarise = sizeOf(shape) > SUMMARY_THRESHOLD;
  const strides = shape.map((_, d) => sizeOf(shape.slice(d + 1)));
  const build = (dim: number, offset: number, multiline: boolean): string => {
    const n = shape[dim];
    const idx =
      summarise && n > 2 * EDGE
        ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)]
        : [...Array(n).keys()];
    const last = dim === shape.length - 1;
    const parts = idx.map((i) =>
      i < 0
        ? '...'
        : last
          ? formatNumber(data[offset + i], dtype)
          : build(dim + 1, offset + i * strides[dim], multiline),
    );
    const sep = !last && multiline ? ',\n' + ' '.repeat('tensor('.length + dim + 1) : ', ';
    return `[${parts.join(sep)}]`;
  };
  const flat = build(0, 0, false);
  return flat.length + 'tensor(, dtype=float32)'.length <= LINE_WIDTH || shape.length === 1 ? flat : build(0, 0, true);
}

/** @internal Parses a public dtype name. */
export function parseDType(d: string, what: string): DType {
  const t = fromPublic(d);
  if (!t) throw new LazygradError(`${what}: unknown dtype ${show(d)} (expected 'float32', 'int32' or 'bool')`);
  return t;
}

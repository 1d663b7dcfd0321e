/**
 * Creation functions and the seeded random generator. Random tensors come
 * from the `random` primitive: a counter-based generator keyed by
 * (seed, counter); each draw advances the counter by its size. Inside jit
 * the key is an implicit input, so every call draws fresh numbers.
 */
import {
  type DType,
  type PublicDType,
  LazygradError,
  ShapeError,
  DTypeError,
  INT32_MAX,
  INT32_MIN,
  bufferLeaf,
  checkSize,
  constant,
  emit,
  fmtShape,
  makeNode,
  show,
} from '../ir';
import { currentBackend } from './settings';
import { Storage } from './storage';
import { Tensor, parseDType } from './tensor';
import { broadcastValue } from './operands';
import { currentJitTrace } from './trace';
import { checkOptions, describeValue, rules } from './option-check';

export interface CreateOptions {
  dtype?: PublicDType;
  requiresGrad?: boolean;
}

type Nested = number | boolean | readonly Nested[];

/** Flattens nested arrays, checking they are rectangular and numeric. */
function flatten(data: Nested): { shape: number[]; values: number[]; kind: 'bool' | 'int' | 'float' } {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as Nested;
    if (cur === undefined) break;
  }
  const values: number[] = [];
  let sawBool = false,
    sawNum = false,
    sawFloat = false;
  const walk = (x: Nested, depth: number, path: string) => {
    if (depth < shape.length) {
      if (!Array.isArray(x) || x.length !== shape[depth]) {
        throw new ShapeError(
          `tensor: ragged nested array: expected ${shape[depth]} entries at ${path || 'top level'} (shape ${fmtShape(shape)}), got ${Array.isArray(x) ? x.length : typeof x}`,
        );
      }
      x.forEach((y, i) => walk(y, depth + 1, `${path}[${i}]`));
    } else if (typeof x === 'number') {
      sawNum = true;
      if (!Number.isInteger(x)) sawFloat = true;
      values.push(x);
    } else if (typeof x === 'boolean') {
      sawBool = true;
      values.push(x ? 1 : 0);
    } else {
      throw new DTypeError(
        `tensor: nested arrays must hold numbers or booleans, found ${Array.isArray(x) ? 'an array deeper than the first element' : typeof x} at ${path || 'top level'}`,
      );
    }
  };
  walk(data, 0, '');
  if (sawBool && sawNum) throw new DTypeError('tensor: nested arrays mix booleans and numbers');
  return { shape, values, kind: sawBool ? 'bool' : sawFloat ? 'float' : 'int' };
}

/** A realised tensor holding `values`. */
export function fromValues(values: ArrayLike<number>, shape: readonly number[], dtype: DType): Tensor {
  const backend = currentBackend();
  const storage = new Storage(backend, backend.upload(dtype, values));
  return new Tensor(bufferLeaf(dtype, shape, storage));
}

const TENSOR_OPTIONS = { dtype: rules.dtype, requiresGrad: rules.boolean };
const DTYPE_OPTIONS = { dtype: rules.dtype };

/** The dtype a typed array gives when none is asked for: integer kinds that fit int32 give int32. */
function naturalDType(data: ArrayBufferView, op: string): DType {
  if (data instanceof Float32Array || data instanceof Float64Array || data instanceof Uint32Array) return 'f32';
  if (
    data instanceof Int32Array ||
    data instanceof Int16Array ||
    data instanceof Int8Array ||
    data instanceof Uint16Array ||
    data instanceof Uint8Array ||
    data instanceof Uint8ClampedArray
  )
    return 'i32';
  throw new DTypeError(
    `${op}: cannot make a tensor from a ${data.constructor.name} (expected a Float32Array, Float64Array, Int32Array or another integer typed array)`,
  );
}

export function tensor(data: Nested | ArrayLike<number> | Tensor, opts: CreateOptions = {}): Tensor {
  checkOptions<CreateOptions>('tensor', opts, TENSOR_OPTIONS);
  let dtype: DType;
  let t: Tensor;
  if (data instanceof Tensor) {
    t = data.cast(opts.dtype ?? data.dtype);
  } else if (ArrayBuffer.isView(data)) {
    const natural = naturalDType(data, 'tensor');
    const arr = data as unknown as ArrayLike<number>;
    dtype = opts.dtype ? parseDType(opts.dtype, 'tensor') : natural;
    checkSize([arr.length], 'tensor');
    t = fromValues(convert(arr, dtype, 'tensor'), [arr.length], dtype);
  } else if (typeof data === 'number' || typeof data === 'boolean' || Array.isArray(data)) {
    const { shape, values, kind } = flatten(data as Nested);
    dtype = opts.dtype ? parseDType(opts.dtype, 'tensor') : kind === 'bool' ? 'bool' : 'f32';
    t = fromValues(convert(values, dtype, 'tensor'), shape, dtype);
  } else {
    throw new DTypeError(
      `tensor: expected a number, boolean, nested array or typed array, got ${data === null ? 'null' : typeof data}`,
    );
  }
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** A value given for an int32 tensor: an integer in range, or an error naming it (never a silent wrap). */
function int32Value(v: number, op: string, where = ''): number {
  if (!Number.isInteger(v))
    throw new DTypeError(
      `${op}: value ${v}${where} is not an integer, so it cannot be stored as int32 (cast a float32 tensor with cast('int32') to truncate)`,
    );
  if (v < INT32_MIN || v > INT32_MAX)
    throw new DTypeError(`${op}: value ${v}${where} is outside the int32 range [${INT32_MIN}, ${INT32_MAX}]`);
  return v;
}

function convert(values: ArrayLike<number>, dtype: DType, op: string): ArrayLike<number> {
  if (dtype === 'f32') return values;
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = dtype === 'bool' ? (v !== 0 ? 1 : 0) : int32Value(v, op, values.length > 1 ? ` at index ${i}` : '');
  }
  return out;
}

function checkShape(shape: readonly number[], op: string): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`${op}: shape must be an array of non-negative integers, got ${describeValue(shape)}`);
  }
  checkSize(shape, op);
  return [...shape];
}

/** full, zeros and ones: one constant broadcast to the shape (a view, no buffer until used). */
function filled(op: string, shape: readonly number[], value: number | boolean, opts: unknown): Tensor {
  const { dtype: d } = checkOptions<{ dtype?: PublicDType }>(op, opts, DTYPE_OPTIONS);
  const s = checkShape(shape, op);
  if (typeof value !== 'number' && typeof value !== 'boolean')
    throw new DTypeError(`${op}: value must be a number or boolean, got ${describeValue(value)}`);
  const dtype = d ? parseDType(d, op) : typeof value === 'boolean' ? 'bool' : 'f32';
  const n = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  const v = dtype === 'i32' ? int32Value(n, op) : dtype === 'bool' ? (n !== 0 ? 1 : 0) : n;
  return new Tensor(broadcastValue(constant(v, dtype), s));
}

export function full(shape: readonly number[], value: number | boolean, opts: { dtype?: PublicDType } = {}): Tensor {
  return filled('full', shape, value, opts);
}

export function zeros(shape: readonly number[], opts: { dtype?: PublicDType } = {}): Tensor {
  return filled('zeros', shape, 0, opts);
}

export function ones(shape: readonly number[], opts: { dtype?: PublicDType } = {}): Tensor {
  return filled('ones', shape, 1, opts);
}

export function arange(start: number, stop?: number, step = 1): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  for (const [n, v] of [
    ['start', start],
    ['stop', stop],
    ['step', step],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new LazygradError(`arange: ${n} must be a finite number, got ${show(v)}`);
  }
  if (step === 0) throw new LazygradError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  checkSize([n], 'arange');
  const ints = Number.isInteger(start) && Number.isInteger(stop) && Number.isInteger(step);
  if (ints && n > 0) {
    // Every element (the first and last bound the rest) and the step must fit int32.
    int32Value(start, 'arange', ' (start)');
    int32Value(step, 'arange', ' (step)');
    int32Value(start + (n - 1) * step, 'arange', ' (the last element)');
  }
  const idx = emit('iota', [], { shape: [n], axis: 0 });
  if (ints) {
    const v = emit('add', [emit('mul', [idx, constant(step, 'i32')]), constant(start, 'i32')]);
    return new Tensor(v);
  }
  const f = emit('cast', [idx], { dtype: 'f32' });
  return new Tensor(emit('add', [emit('mul', [f, constant(step, 'f32')]), constant(start, 'f32')]));
}

export function eye(n: number, opts: { dtype?: PublicDType } = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new ShapeError(`eye: n must be a non-negative integer, got ${show(n)}`);
  checkOptions<{ dtype?: PublicDType }>('eye', opts, DTYPE_OPTIONS);
  checkSize([n, n], 'eye');
  const dtype = opts.dtype ? parseDType(opts.dtype, 'eye') : 'f32';
  const r = emit('iota', [], { shape: [n, n], axis: 0 });
  const c = emit('iota', [], { shape: [n, n], axis: 1 });
  return new Tensor(emit('cast', [emit('eq', [r, c])], { dtype }));
}

// ---- random ----

const rng = { seed: 0, counter: 0 };

export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed)) throw new LazygradError(`manualSeed: seed must be an integer, got ${show(seed)}`);
  rng.seed = seed | 0;
  rng.counter = 0;
}

/** @internal Generator state, for jit's implicit key input. */
export function rngState(): { seed: number; counter: number } {
  return rng;
}

export function rand(shape: readonly number[]): Tensor {
  const s = checkShape(shape, 'rand');
  const size = s.reduce((a, b) => a * b, 1);
  const trace = currentJitTrace();
  if (trace) {
    if (!trace.rngKey) trace.rngKey = makeNode('param', [], { dtype: 'i32', shape: [2] });
    const offset = trace.rngOffset;
    trace.rngOffset += size;
    return new Tensor(emit('random', [trace.rngKey.out], { shape: s, offset }));
  }
  const key = fromValues([rng.seed, rng.counter], [2], 'i32');
  rng.counter = (rng.counter + size) | 0;
  return new Tensor(emit('random', [key._value], { shape: s, offset: 0 }));
}

/** Standard normal samples by the Box-Muller transform of two uniforms. */
export function randn(shape: readonly number[]): Tensor {
  const s = checkShape(shape, 'randn');
  const u1 = rand(s);
  const u2 = rand(s);
  // 1 - u lies in (0, 1], so the log is finite.
  const r = u1.neg().add(1).log().mul(-2).sqrt();
  return r.mul(u2.mul(2 * Math.PI).cos());
}

/** The largest high - low of randint: samples come from the 24 random bits of one float32 uniform. */
const RANDINT_MAX_RANGE = 2 ** 24;

/**
 * floor(j · range / 2^24) for int32 j in [0, 2^24) and 1 <= range <= 2^24, exactly, in int32 pieces of
 * 12 bits whose products stay below 2^24, so js (float64), wasm (float32) and gpujs (floats exact below
 * 2^24) all compute the same integer. With j = jh·2^12 + jl and range = rh·2^12 + rl:
 * j·range / 2^24 = jh·rh + (jh·rl + jl·rh) / 2^12 + jl·rl / 2^24.
 */
function scaleBits(j: Tensor, range: number): Tensor {
  const shift12 = (v: Tensor) => v.cast('float32').div(4096).cast('int32'); // v >= 0, v < 2^24: exact
  const low12 = (v: Tensor) => v.sub(shift12(v).mul(4096));
  const [rh, rl] = [Math.floor(range / 4096), range % 4096];
  const jh = shift12(j);
  const jl = low12(j);
  const cross1 = jh.mul(rl);
  const cross2 = jl.mul(rh);
  const carry = shift12(
    low12(cross1)
      .add(low12(cross2))
      .add(shift12(jl.mul(rl))),
  );
  return jh.mul(rh).add(shift12(cross1)).add(shift12(cross2)).add(carry);
}

/**
 * int32 samples uniform in [low, high) (numpy's randint), from the seeded
 * generator (fresh on every jit call, like rand). Each sample is
 * floor(u · (high - low)) + low for a uniform u with 24 random bits,
 * computed exactly, so every backend draws the same integers; a range that
 * does not divide 2^24 favours some values by at most (high - low) / 2^24
 * relative (6e-7 for high - low = 10), so high - low may be at most 2^24.
 */
export function randint(low: number, high: number, shape: readonly number[]): Tensor {
  for (const [name, v] of [
    ['low', low],
    ['high', high],
  ] as const)
    if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX)
      throw new LazygradError(
        `randint: ${name} must be an integer in the int32 range [${INT32_MIN}, ${INT32_MAX}], got ${describeValue(v)}`,
      );
  if (!(high > low)) throw new LazygradError(`randint: high must be greater than low, got low ${low} and high ${high}`);
  const range = high - low;
  if (range > RANDINT_MAX_RANGE)
    throw new LazygradError(
      `randint: high - low = ${range} is larger than 2^24 = ${RANDINT_MAX_RANGE} (samples have 24 random bits); draw two and combine them for a wider range`,
    );
  const s = checkShape(shape, 'randint');
  const bits = rand(s).mul(RANDINT_MAX_RANGE).cast('int32');
  return scaleBits(bits, range).add(low);
}

/** A tensor of zeros with x's shape and (unless given) dtype. */
export function zerosLike(x: Tensor, opts: { dtype?: PublicDType } = {}): Tensor {
  return filledLike('zerosLike', x, 0, opts);
}

/** A tensor of ones with x's shape and (unless given) dtype. */
export function onesLike(x: Tensor, opts: { dtype?: PublicDType } = {}): Tensor {
  return filledLike('onesLike', x, 1, opts);
}

function filledLike(op: string, x: Tensor, value: number, opts: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new LazygradError(`${op}: expected a tensor, got ${describeValue(x)}`);
  x._check(op);
  const { dtype } = checkOptions<{ dtype?: PublicDType }>(op, opts, DTYPE_OPTIONS);
  return filled(op, x.shape, value, { dtype: dtype ?? x.dtype });
}

/**
 * `n` evenly spaced float32 values from start to stop, both included
 * (numpy's linspace; n = 50 by default): start + i · (stop - start) / (n - 1),
 * the last exactly stop; one value is [start].
 */
export function linspace(start: number, stop: number, n = 50): Tensor {
  for (const [name, v] of [
    ['start', start],
    ['stop', stop],
  ] as const)
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new LazygradError(`linspace: ${name} must be a finite number, got ${describeValue(v)}`);
  if (!Number.isInteger(n) || n < 0)
    throw new ShapeError(`linspace: n must be a non-negative integer, got ${describeValue(n)}`);
  checkSize([n], 'linspace');
  const step = n > 1 ? (stop - start) / (n - 1) : 0;
  const idx = emit('iota', [], { shape: [n], axis: 0 });
  const values = emit('add', [
    emit('mul', [emit('cast', [idx], { dtype: 'f32' }), constant(step, 'f32')]),
    constant(start, 'f32'),
  ]);
  if (n < 2) return new Tensor(values);
  const last = emit('eq', [idx, constant(n - 1, 'i32')]);
  return new Tensor(emit('where', [last, constant(stop, 'f32'), values]));
}

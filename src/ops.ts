/**
 * Tensor operations: broadcasting, dtype promotion and weak typing of JS
 * numbers happen here, then each op becomes primitive IR nodes. Composites
 * (relu, mean, softmax, logsumexp, matmul, ...) are compositions of
 * primitives, written to be stable over the float32 range. They call one
 * another, never Tensor's methods: those are thin wrappers of these
 * functions that tensor.ts installs on top of this module.
 */
import {
  type DType,
  type PublicDType,
  type Value,
  LazygradError,
  ShapeError,
  DTypeError,
  broadcastShapes,
  emit,
  fmtShape,
  promote,
  sizeOf,
  isPermutation,
  show,
} from '../ir';
import { Tensor, type TensorLike, type Axis, parseDType } from './tensor-class';
import { broadcastValue, toTensor } from './operands';

/** Wraps IR errors so every failure names the user-facing op. */
/**
 * One axis of a rank-`nd` tensor (negative counts from the end): a
 * non-integer or out-of-range axis is a ShapeError saying which.
 */
export function axisOf(op: string, a: unknown, nd: number): number {
  if (typeof a !== 'number') throw new ShapeError(`${op}: axis must be an integer, got ${show(a)}`);
  if (!Number.isInteger(a)) throw new ShapeError(`${op}: axis ${String(a)} is not an integer`);
  if (nd === 0)
    throw new ShapeError(`${op}: axis ${a} is out of range: a 0-d tensor has no axes (omit the axis to reduce it)`);
  if (a < -nd || a >= nd)
    throw new ShapeError(
      `${op}: axis ${a} is out of range for a tensor of rank ${nd} (expected ${-nd} <= axis < ${nd})`,
    );
  return a < 0 ? a + nd : a;
}

/** keepdims must be a boolean (a misplaced argument would otherwise be read as truthy). */
function keepFlag(op: string, keepdims: unknown): boolean {
  if (keepdims === undefined) return false;
  if (typeof keepdims !== 'boolean')
    throw new LazygradError(
      `${op}: keepdims must be true or false, got ${typeof keepdims === 'number' ? String(keepdims) : show(keepdims)}`,
    );
  return keepdims;
}

export function guard<T>(op: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof LazygradError) {
      if (e.message.startsWith(op)) throw e;
      const Ctor = e.constructor as new (m: string) => LazygradError;
      throw new Ctor(`${op}: ${e.message}`);
    }
    throw e;
  }
}

/**
 * Builds a result tensor from a function over input values: once for the
 * compute graph, and once more over the autograd graph when an input
 * carries one.
 */
export function apply(op: string, inputs: readonly Tensor[], f: (...vs: Value[]) => Value): Tensor {
  for (const t of inputs) t._check(op);
  return guard(op, () => {
    const v = f(...inputs.map((t) => t._value));
    const needGrad = inputs.some((t) => t._autogradValue);
    const gv = needGrad ? f(...inputs.map((t) => t._autogradValue ?? t._value)) : undefined;
    return new Tensor(v, gv);
  });
}

const fmt = (t: Tensor) => `${t.dtype}${fmtShape(t.shape)}`;

function castValue(v: Value, d: DType): Value {
  return v.dtype === d ? v : emit('cast', [v], { dtype: d });
}

/** Broadcast for elementwise primitives: a 0-d operand broadcasts implicitly in the IR. */
function operand(v: Value, shape: readonly number[]): Value {
  return v.shape.length === 0 ? v : broadcastValue(v, shape);
}

type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'eq'
  | 'ne'
  | 'and'
  | 'or';
const COMPARISONS = new Set(['lt', 'le', 'gt', 'ge', 'eq', 'ne']);

export function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) a = toTensor(a, 'f32', op);
  const ta = a instanceof Tensor ? a : toTensor(a, (b as Tensor)._dtype, op);
  const tb = toTensor(b, ta._dtype, op);
  if (!(a instanceof Tensor)) {
    // a number on the left: its weak type follows the tensor on the right.
    return binaryTensors(op, toTensor(a, tb._dtype, op), tb);
  }
  return binaryTensors(op, ta, tb);
}

function binaryTensors(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(a.shape, b.shape);
  if (!shape)
    throw new ShapeError(
      `${op}: cannot broadcast shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} (operands ${fmt(a)} and ${fmt(b)})`,
    );
  let dt = promote(a._dtype, b._dtype);
  if (op === 'div' || op === 'pow') dt = 'f32';
  else if (op === 'and' || op === 'or') dt = 'bool';
  else if (!COMPARISONS.has(op) && dt === 'bool') dt = 'i32';
  return apply(op, [a, b], (x, y) => emit(op, [operand(castValue(x, dt), shape), operand(castValue(y, dt), shape)]));
}

type UnaryOp =
  | 'neg'
  | 'abs'
  | 'sign'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'sin'
  | 'cos'
  | 'tanh'
  | 'sigmoid'
  | 'log1p'
  | 'expm1'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'not';
// floor, ceil and round are float-only primitives too: rounding.ts returns integer operands as they are.
const FLOAT_ONLY = new Set([
  'exp',
  'log',
  'sqrt',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'log1p',
  'expm1',
  'floor',
  'ceil',
  'round',
]);

export function unary(op: UnaryOp, x: Tensor): Tensor {
  let dt: DType = x._dtype;
  if (op === 'not') dt = 'bool';
  else if (FLOAT_ONLY.has(op)) dt = 'f32';
  else if (dt === 'bool') dt = 'i32';
  return apply(op, [x], (v) => emit(op, [castValue(v, dt)]));
}

export function cast(x: Tensor, dtype: PublicDType): Tensor {
  const d = parseDType(dtype, 'cast');
  return apply('cast', [x], (v) => castValue(v, d));
}

export function relu(x: Tensor): Tensor {
  // where(x <= 0, 0, x): gradient 0 at 0, as PyTorch and JAX; NaN fails the test and passes through.
  return where(binary('le', x, 0), 0, x);
}

export function where(c: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const tc0 = toTensor(c, 'bool', 'where');
  const tc = tc0._dtype === 'bool' ? tc0 : binary('ne', tc0, 0);
  let ta: Tensor, tb: Tensor;
  if (a instanceof Tensor) {
    ta = a;
    tb = toTensor(b, a._dtype, 'where');
  } else if (b instanceof Tensor) {
    tb = b;
    ta = toTensor(a, b._dtype, 'where');
  } else {
    ta = toTensor(a, 'f32', 'where');
    tb = toTensor(b, ta._dtype, 'where');
  }
  const s1 = broadcastShapes(tc.shape, ta.shape);
  const shape = s1 && broadcastShapes(s1, tb.shape);
  if (!shape)
    throw new ShapeError(
      `where: cannot broadcast shapes ${fmtShape(tc.shape)}, ${fmtShape(ta.shape)} and ${fmtShape(tb.shape)}`,
    );
  const dt = promote(ta._dtype, tb._dtype);
  return apply('where', [tc, ta, tb], (c2, x, y) =>
    emit('where', [operand(c2, shape), operand(castValue(x, dt), shape), operand(castValue(y, dt), shape)]),
  );
}

// ---- reductions ----

export function normAxes(x: Tensor, axis: Axis, op: string): number[] {
  const nd = x.ndim;
  if (axis === undefined || axis === null) return Array.from({ length: nd }, (_, i) => i);
  if (typeof axis !== 'number' && !Array.isArray(axis))
    throw new ShapeError(`${op}: axis must be a number or an array of numbers, got ${show(axis)}`);
  const list = typeof axis === 'number' ? [axis] : [...axis];
  const out = guard(op, () =>
    list.map((a) => {
      return axisOf(op, a, nd);
    }),
  );
  if (new Set(out).size !== out.length)
    throw new ShapeError(`${op}: repeated axis in ${JSON.stringify(list)} for shape ${fmtShape(x.shape)}`);
  return out.sort((p, q) => p - q);
}

export function sum(x: Tensor, axis: Axis, keepdims: boolean): Tensor {
  const axes = normAxes(x, axis, 'sum');
  keepdims = keepFlag('sum', keepdims);
  const dt: DType = x._dtype === 'bool' ? 'i32' : x._dtype;
  return apply('sum', [x], (v) => emit('sum', [castValue(v, dt)], { axes, keepdims: !!keepdims }));
}

export function mean(x: Tensor, axis: Axis, keepdims: boolean): Tensor {
  const axes = normAxes(x, axis, 'mean');
  keepdims = keepFlag('mean', keepdims);
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  return binary('div', sum(cast(x, 'float32'), axes, keepdims), count);
}

export function max(x: Tensor, axis: Axis, keepdims: boolean): Tensor {
  const axes = normAxes(x, axis, 'max');
  keepdims = keepFlag('max', keepdims);
  const empty = axes.find((a) => x.shape[a] === 0);
  if (empty !== undefined)
    throw new ShapeError(`max: cannot reduce the empty axis ${empty} of shape ${fmtShape(x.shape)}`);
  if (x._dtype === 'bool') return cast(max(cast(x, 'int32'), axes, keepdims), 'bool');
  return apply('max', [x], (v) => emit('max', [v], { axes, keepdims: !!keepdims }));
}

export function min(x: Tensor, axis: Axis, keepdims: boolean): Tensor {
  const axes = normAxes(x, axis, 'min');
  keepdims = keepFlag('min', keepdims);
  if (axes.some((a) => x.shape[a] === 0))
    throw new ShapeError(`min: cannot reduce an empty axis of shape ${fmtShape(x.shape)}`);
  if (x._dtype === 'bool') return cast(min(cast(x, 'int32'), axes, keepdims), 'bool');
  return reverseOrder(max(reverseOrder(x), axes, keepdims));
}

/**
 * An order-reversing map that is its own inverse: -x for float32; for int32
 * -1 - x (= ~x), which never overflows (-x wraps at -2^31, so min and argmin
 * would miss it).
 */
export function reverseOrder(x: Tensor): Tensor {
  return x._dtype === 'i32' ? binary('sub', -1, x) : unary('neg', x);
}

export function argmax(x: Tensor, axis: number | undefined, keepdims: boolean): Tensor {
  if (axis === undefined || axis === null) return argmax(reshape(x, [-1]), 0, false);
  const ax = axisOf('argmax', axis, x.ndim);
  keepdims = keepFlag('argmax', keepdims);
  const n = x.shape[ax];
  if (n === 0) throw new ShapeError(`argmax: cannot reduce the empty axis ${ax} of shape ${fmtShape(x.shape)}`);
  const xs = stopGradient(x._dtype === 'bool' ? cast(x, 'int32') : x);
  const m = max(xs, ax, true);
  const idx = new Tensor(emit('iota', [], { shape: x.shape, axis: ax }));
  // First index attaining the maximum: min over candidates, written as -max(-c).
  // A NaN makes the max NaN and equals nothing: then the NaNs are the candidates (numpy's first NaN).
  const cand = where(binary('or', binary('eq', xs, m), binary('ne', xs, xs)), idx, n);
  return unary('neg', max(unary('neg', cand), ax, keepdims));
}

/** The max over `axis` with keepdims, cut from the gradient (a shift that cancels in softmax and logsumexp). */
function stableShift(x: Tensor, axes: number[]): Tensor {
  const m = stopGradient(max(x, axes, true));
  // An all -inf (or +inf) row would give inf - inf; shift by 0 there instead.
  return where(binary('eq', unary('abs', m), Infinity), 0, m);
}

export function softmax(x: Tensor, axis: number): Tensor {
  const axes = normAxes(x, axis, 'softmax');
  const e = unary('exp', binary('sub', x, stableShift(x, axes)));
  return binary('div', e, sum(e, axes, true));
}

export function logSoftmax(x: Tensor, axis: number): Tensor {
  const axes = normAxes(x, axis, 'logSoftmax');
  const z = binary('sub', x, stableShift(x, axes));
  return binary('sub', z, unary('log', sum(unary('exp', z), axes, true)));
}

export function logsumexp(x: Tensor, axis: Axis, keepdims: boolean): Tensor {
  const axes = normAxes(x, axis, 'logsumexp');
  keepdims = keepFlag('logsumexp', keepdims);
  const m = stableShift(x, axes);
  const r = binary('add', unary('log', sum(unary('exp', binary('sub', x, m)), axes, true)), m);
  return keepdims ? r : squeeze(r, axes);
}

export function stopGradient(x: Tensor): Tensor {
  x._check('stopGradient');
  return new Tensor(emit('detach', [x._value]));
}

// ---- movement ----

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d))) {
    throw new ShapeError(`reshape: shape must be an array of integers, got ${JSON.stringify(shape)}`);
  }
  const free = shape.filter((d) => d === -1).length;
  if (free > 1)
    throw new ShapeError(
      `reshape: only one -1 is allowed, got ${fmtShape(shape)} for a tensor of shape ${fmtShape(x.shape)}`,
    );
  if (shape.some((d) => d < -1)) throw new ShapeError(`reshape: negative dimension in ${fmtShape(shape)}`);
  let target = [...shape];
  if (free) {
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
    }
    target = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (sizeOf(target) !== x.size)
    throw new ShapeError(
      `reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)} (${sizeOf(target)} elements)`,
    );
  return apply('reshape', [x], (v) => emit('reshape', [v], { shape: target }));
}

export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const nd = x.ndim;
  if (perm !== undefined && perm !== null && !Array.isArray(perm))
    throw new ShapeError(`transpose: perm must be an array of axes, got ${show(perm)}`);
  const p = perm
    ? [...perm].map((a) => (Number.isInteger(a) && a < 0 ? a + nd : a))
    : Array.from({ length: nd }, (_, i) => nd - 1 - i);
  if (!isPermutation(p, nd))
    throw new ShapeError(
      `transpose: ${JSON.stringify(perm)} is not a permutation of the axes of shape ${fmtShape(x.shape)}`,
    );
  return apply('transpose', [x], (v) => emit('permute', [v], { perm: p }));
}

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d)))
    throw new ShapeError(`expand: shape must be an array of integers, got ${show(shape)}`);
  const target = broadcastShapes(x.shape, shape);
  if (!target || target.length !== shape.length || target.some((d, i) => d !== shape[i] && shape[i] !== -1)) {
    throw new ShapeError(`expand: cannot expand shape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  const full = shape.map((d, i) => (d === -1 ? target[i] : d));
  return apply('expand', [x], (v) => broadcastValue(v, full));
}

export function squeeze(x: Tensor, axis: Axis): Tensor {
  let axes: number[];
  if (axis === undefined || axis === null) axes = x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
  else {
    axes = normAxes(x, axis, 'squeeze');
    const bad = axes.find((a) => x.shape[a] !== 1);
    if (bad !== undefined)
      throw new ShapeError(`squeeze: axis ${bad} of shape ${fmtShape(x.shape)} has size ${x.shape[bad]}, expected 1`);
  }
  return reshape(
    x,
    x.shape.filter((_, i) => !axes.includes(i)),
  );
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const ax = axisOf('unsqueeze', axis, x.ndim + 1);
  const s = x.shape;
  s.splice(ax, 0, 1);
  return reshape(x, s);
}

export function slice(
  x: Tensor,
  starts: readonly (number | null | undefined)[],
  ends?: readonly (number | null | undefined)[],
  steps?: readonly (number | null | undefined)[],
): Tensor {
  const nd = x.ndim;
  for (const [name, arr] of [
    ['starts', starts],
    ['ends', ends],
    ['steps', steps],
  ] as const) {
    if ((arr !== undefined || name === 'starts') && (!Array.isArray(arr) || arr.length > nd)) {
      throw new ShapeError(
        `slice: ${name} must be an array of at most ${nd} entries (one per axis of ${fmtShape(x.shape)}), got ${JSON.stringify(arr)}`,
      );
    }
  }
  const st: number[] = [],
    sp: number[] = [],
    shape: number[] = [];
  for (let d = 0; d < nd; d++) {
    const n = x.shape[d];
    const step = steps?.[d] ?? 1;
    if (!Number.isInteger(step) || step === 0)
      throw new ShapeError(
        `slice: step ${show(step)} on axis ${d} of shape ${fmtShape(x.shape)} (steps must be non-zero integers)`,
      );
    // numpy/Python slice semantics: negative indices count from the end, bounds clamp.
    const norm = (i: number | null | undefined, dflt: number, lo: number, hi: number) => {
      if (i === undefined || i === null) return dflt;
      if (!Number.isInteger(i)) throw new ShapeError(`slice: index ${show(i)} on axis ${d} is not an integer`);
      const j = i < 0 ? i + n : i;
      return Math.min(Math.max(j, lo), hi);
    };
    let start: number, stop: number;
    if (step > 0) {
      start = norm(starts[d], 0, 0, n);
      stop = norm(ends?.[d], n, 0, n);
    } else {
      start = norm(starts[d], n - 1, -1, n - 1);
      stop = norm(ends?.[d], -1, -1, n - 1);
      if (ends?.[d] !== undefined && ends?.[d] !== null && (ends[d] as number) < -n) stop = -1;
    }
    const len = Math.max(0, Math.ceil((stop - start) / step));
    st.push(len === 0 ? 0 : start);
    sp.push(step);
    shape.push(len);
  }
  return apply('slice', [x], (v) => emit('slice', [v], { starts: st, steps: sp, shape }));
}

export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value: number): Tensor {
  if (
    !Array.isArray(pads) ||
    pads.length !== x.ndim ||
    !pads.every((p) => Array.isArray(p) && p.length === 2 && p.every((q) => Number.isInteger(q) && q >= 0))
  ) {
    throw new ShapeError(
      `pad: expected one [before, after] pair of non-negative integers per axis of ${fmtShape(x.shape)}, got ${JSON.stringify(pads)}`,
    );
  }
  if (typeof value !== 'number') throw new DTypeError(`pad: value must be a number, got ${typeof value}`);
  return apply('pad', [x], (v) => emit('pad', [v], { pads: pads.map((p) => [p[0], p[1]]), value }));
}

export function concat(ts: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(ts) || ts.length === 0 || !ts.every((t) => t instanceof Tensor))
    throw new ShapeError('concat: expected a non-empty array of tensors');
  const nd = ts[0].ndim;
  if (nd === 0) throw new ShapeError('concat: cannot concatenate 0-d tensors (use stack)');
  const ax = axisOf('concat', axis, nd);
  for (const t of ts) {
    if (t.ndim !== nd || t.shape.some((d, i) => i !== ax && d !== ts[0].shape[i])) {
      throw new ShapeError(
        `concat: shapes ${ts.map((u) => fmtShape(u.shape)).join(', ')} must match except on axis ${ax}`,
      );
    }
  }
  const dt = ts.map((t) => t._dtype).reduce(promote);
  return apply('concat', ts, (...vs) =>
    emit(
      'concat',
      vs.map((v) => castValue(v, dt)),
      { axis: ax },
    ),
  );
}

export function stack(ts: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(ts as unknown) || ts.length === 0 || !ts.every((t) => t instanceof Tensor))
    throw new ShapeError('stack: expected a non-empty array of tensors');
  const nd = ts[0].ndim;
  for (const t of ts as Tensor[])
    if (t.ndim !== nd || t.shape.some((d, i) => d !== ts[0].shape[i])) {
      throw new ShapeError(`stack: all shapes must be equal, got ${ts.map((u) => fmtShape(u.shape)).join(', ')}`);
    }
  const ax = axisOf('stack', axis, nd + 1);
  return concat(
    ts.map((t) => unsqueeze(t, ax)),
    ax,
  );
}

export function oneHot(x: Tensor, depth: number): Tensor {
  if (x._dtype !== 'i32') throw new DTypeError(`oneHot: expected an int32 tensor of class indices, got ${fmt(x)}`);
  if (!Number.isInteger(depth) || depth <= 0)
    throw new ShapeError(`oneHot: depth must be a positive integer, got ${show(depth)}`);
  const shape = [...x.shape, depth];
  const idx = new Tensor(emit('iota', [], { shape, axis: shape.length - 1 }));
  return cast(binary('eq', unsqueeze(x, -1), idx), 'float32');
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (!(b instanceof Tensor)) throw new LazygradError(`matmul: expected a Tensor operand, got ${typeof b}`);
  if (a.ndim === 0 || b.ndim === 0)
    throw new ShapeError(
      `matmul: operands must have at least 1 dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`,
    );
  const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.ndim === 1 ? unsqueeze(b, -1) : b;
  const [m, k] = a2.shape.slice(-2);
  const [k2, n] = b2.shape.slice(-2);
  if (k !== k2)
    throw new ShapeError(
      `matmul: inner dimensions differ: ${fmtShape(a.shape)} @ ${fmtShape(b.shape)} (${k} vs ${k2})`,
    );
  const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  if (!batch)
    throw new ShapeError(`matmul: batch dimensions of ${fmtShape(a.shape)} and ${fmtShape(b.shape)} do not broadcast`);
  const dt = promote(a._dtype, b._dtype) === 'f32' ? 'f32' : 'i32';
  const nb = batch.length;
  const bidx = Array.from({ length: nb }, (_, i) => i);
  let out = apply('matmul', [a2, b2], (x, y) => {
    const xa = broadcastValue(castValue(x, dt), [...batch, m, k]);
    const ya = broadcastValue(castValue(y, dt), [...batch, k, n]);
    return emit('dot', [xa, ya], { batch: [bidx, bidx], contract: [[nb + 1], [nb]] });
  });
  if (a.ndim === 1) out = squeeze(out, -2);
  if (b.ndim === 1) out = squeeze(out, -1);
  return out;
}

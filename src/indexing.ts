/**
 * Indexing by integer tensors: `take` (numpy `take`) and `gather` (numpy
 * `take_along_axis`), both over the `gather` primitive, which kernels lower
 * to an indirect load (an embedding lookup reads one row per token).
 *
 * Indices are int32; a negative index counts from the end of its axis. An
 * index outside [-n, n) is an error when the indices can be read (they are
 * realised, or computable outside a trace): they are checked here, at the
 * call. Inside `jit` (and for arguments of a function being differentiated)
 * their values do not exist yet, so out-of-range indices clamp into the
 * axis (read the first or last element), on every backend.
 */
import { LazygradError, DTypeError, ShapeError, broadcastShapes, emit, fmtShape, show, sizeOf } from '../ir';
import { apply, axisOf, reshape } from './ops';
import { broadcastValue, scalarTensor } from './operands';
import { readTensor } from './realize';
import { Tensor } from './tensor-class';
import { isTraced } from './traced';

const fmt = (t: Tensor) => `${t.dtype}${fmtShape(t.shape)}`;

/** The indices as an int32 tensor: a tensor of that dtype, or an integer number (a 0-d index). */
function indexTensor(op: string, indices: unknown): Tensor {
  if (indices instanceof Tensor) {
    indices._check(op);
    if (indices._dtype !== 'i32')
      throw new DTypeError(
        `${op}: indices must be an int32 tensor, got ${fmt(indices)} (cast them with .cast('int32'))`,
      );
    return indices;
  }
  if (typeof indices === 'number' && Number.isInteger(indices) && Math.abs(indices) < 2 ** 31)
    return scalarTensor(indices, 'i32');
  throw new DTypeError(`${op}: indices must be an int32 tensor or an integer, got ${show(indices)}`);
}

/** Throws naming the first index outside [-n, n) of an axis of length n, when the indices can be read. */
function checkRange(op: string, indices: Tensor, n: number, axis: number, x: Tensor): void {
  if (isTraced(indices)) return; // values unknown while tracing: the kernels clamp
  // A number given as the index is a constant: no need to run a program to read it.
  const node = indices._value.node;
  const values = node.op === 'const' ? [node.attrs.value as number] : readTensor(indices, op, false);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < -n || v >= n) {
      const where = indices.ndim ? ` at flat position ${i} of the indices ${fmtShape(indices.shape)}` : '';
      throw new LazygradError(
        `${op}: index ${v}${where} is out of range for axis ${axis} of length ${n} of ${fmt(x)} (expected ${-n} <= index < ${n})`,
      );
    }
  }
}

/**
 * numpy `take`: the elements of `x` at `indices` along `axis` (no axis: of
 * the flattened `x`). The result has shape
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`.
 */
export function take(x: Tensor, indices: Tensor | number, axis?: number | null): Tensor {
  const op = 'take';
  if (!(x instanceof Tensor)) throw new LazygradError(`${op}: x must be a tensor, got ${show(x)}`);
  x._check(op);
  const ind = indexTensor(op, indices);
  const flat = axis === undefined || axis === null;
  const src = flat ? reshape(x, [-1]) : x;
  const ax = flat ? 0 : axisOf(op, axis, x.ndim);
  const n = src.shape[ax];
  checkRange(op, ind, n, ax, x);
  // As a gather along the middle axis of x viewed as [before, n, after], the indices spread over
  // the other two: the IR's gather needs indices of x's rank (views, so nothing is copied).
  const before = sizeOf(src.shape.slice(0, ax));
  const after = sizeOf(src.shape.slice(ax + 1));
  const count = ind.size;
  const outShape = [...src.shape.slice(0, ax), ...ind.shape, ...src.shape.slice(ax + 1)];
  return apply(op, [src, ind], (xv, iv) => {
    const x3 = emit('reshape', [xv], { shape: [before, n, after] });
    const i3 = broadcastValue(emit('reshape', [iv], { shape: [1, count, 1] }), [before, count, after]);
    return emit('reshape', [emit('gather', [x3, i3], { axis: 1 })], { shape: outShape });
  });
}

/**
 * numpy `take_along_axis`: `out[p] = x[p with p[axis] = indices[p]]`.
 * `indices` has the rank of `x`; on the other axes the two broadcast against
 * each other, and the result has the broadcast shape with `indices`' extent
 * along `axis`.
 */
export function gather(x: Tensor, axis: number, indices: Tensor | number): Tensor {
  const op = 'gather';
  if (!(x instanceof Tensor)) throw new LazygradError(`${op}: x must be a tensor, got ${show(x)}`);
  x._check(op);
  const ind = indexTensor(op, indices);
  const ax = axisOf(op, axis, x.ndim);
  if (ind.ndim !== x.ndim)
    throw new ShapeError(
      `${op}: indices ${fmt(ind)} must have the rank of x ${fmt(x)} (${x.ndim}); reshape them, or use take`,
    );
  const outer = broadcastShapes(
    x.shape.map((d, i) => (i === ax ? 1 : d)),
    ind.shape.map((d, i) => (i === ax ? 1 : d)),
  );
  if (!outer)
    throw new ShapeError(
      `${op}: indices ${fmt(ind)} and x ${fmt(x)} do not broadcast on the axes other than axis ${ax}`,
    );
  const n = x.shape[ax];
  checkRange(op, ind, n, ax, x);
  const xShape = outer.map((d, i) => (i === ax ? n : d));
  const iShape = outer.map((d, i) => (i === ax ? ind.shape[ax] : d));
  return apply(op, [x, ind], (xv, iv) =>
    emit('gather', [broadcastValue(xv, xShape), broadcastValue(iv, iShape)], { axis: ax }),
  );
}

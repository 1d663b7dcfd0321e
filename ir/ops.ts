/**
 * The primitive op table: for every op its arity, its attributes (documented
 * here, printed in the text form), and its shape/dtype rule. The rule runs
 * whenever a node is built, so a mistake fails at once, naming the op and
 * the shapes. Everything else (softmax, conv2d, ...) is composed in src/.
 *
 * Broadcasting is explicit: binary ops take equal shapes, except that a 0-d
 * operand broadcasts implicitly.
 */
import { type DType, isDType } from './dtype';
import { DTypeError, ShapeError, GraphError } from './errors';
import type { Attrs, Graph, TensorType } from './graph';
import { type Shape, fmtShape, isPermutation, shapesEqual, sizeOf } from './shape';

export type OpKind =
  'leaf' | 'unary' | 'binary' | 'compare' | 'ternary' | 'reduce' | 'movement' | 'gather' | 'dot' | 'cast' | 'higher';

export interface OpDef {
  readonly kind: OpKind;
  /** Number of inputs; -1 for variadic. */
  readonly arity: number;
  /** Attribute name -> meaning, as documented in the README. */
  readonly attrs: { readonly [name: string]: string };
  readonly doc: string;
  infer(inputs: readonly TensorType[], attrs: Attrs, body?: Graph): TensorType[];
}

const t = (dtype: DType, shape: Shape): TensorType => ({ dtype, shape: [...shape] });
const fmtT = (x: TensorType) => `${x.dtype}${fmtShape(x.shape)}`;

function needDType(op: string, x: TensorType, allowed: readonly DType[], what = 'operand'): void {
  if (!allowed.includes(x.dtype)) {
    throw new DTypeError(
      `${op}: ${what} has dtype ${x.dtype}${fmtShape(x.shape)}, expected one of ${allowed.join(', ')}`,
    );
  }
}

function needInts(op: string, name: string, v: unknown, len?: number): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x)) || (len !== undefined && v.length !== len)) {
    throw new ShapeError(
      `${op}: attribute ${name} must be an array of ${len ?? 'any number of'} integers, got ${JSON.stringify(v)}`,
    );
  }
  return v as number[];
}

function needShape(op: string, v: unknown): number[] {
  const s = needInts(op, 'shape', v);
  if (s.some((d) => d < 0)) throw new ShapeError(`${op}: shape ${fmtShape(s)} has a negative dimension`);
  return s;
}

/** Shape of an elementwise op: all operands equal, or 0-d. */
function elementwiseShape(op: string, xs: readonly TensorType[]): Shape {
  let shape: Shape = [];
  for (const x of xs) {
    if (x.shape.length === 0) continue;
    if (shape.length === 0) shape = x.shape;
    else if (!shapesEqual(shape, x.shape)) {
      throw new ShapeError(
        `${op}: operand shapes ${xs.map((y) => fmtShape(y.shape)).join(' and ')} differ (IR binary ops need equal shapes or a 0-d operand)`,
      );
    }
  }
  return shape;
}

function unary(name: string, dtypes: readonly DType[], doc = name): OpDef {
  return {
    kind: 'unary',
    arity: 1,
    attrs: {},
    doc,
    infer([x], _a) {
      needDType(name, x, dtypes);
      return [t(x.dtype, x.shape)];
    },
  };
}

function binary(name: string, doc: string, dtypes: readonly DType[]): OpDef {
  return {
    kind: 'binary',
    arity: 2,
    attrs: {},
    doc,
    infer([a, b]) {
      needDType(name, a, dtypes, 'left operand');
      if (a.dtype !== b.dtype) throw new DTypeError(`${name}: operand dtypes differ: ${fmtT(a)} and ${fmtT(b)}`);
      return [t(a.dtype, elementwiseShape(name, [a, b]))];
    },
  };
}

function compare(name: string, doc: string): OpDef {
  return {
    kind: 'compare',
    arity: 2,
    attrs: {},
    doc,
    infer([a, b]) {
      if (a.dtype !== b.dtype) throw new DTypeError(`${name}: operand dtypes differ: ${fmtT(a)} and ${fmtT(b)}`);
      return [t('bool', elementwiseShape(name, [a, b]))];
    },
  };
}

function reduction(name: string, doc: string): OpDef {
  return {
    kind: 'reduce',
    arity: 1,
    attrs: { axes: 'sorted, distinct, non-negative axes to reduce', keepdims: 'keep reduced axes as size 1' },
    doc,
    infer([x], a) {
      needDType(name, x, ['f32', 'i32']);
      const axes = needInts(name, 'axes', a.axes);
      for (let i = 0; i < axes.length; i++) {
        if (axes[i] < 0 || axes[i] >= x.shape.length || (i > 0 && axes[i] <= axes[i - 1])) {
          throw new ShapeError(`${name}: axes ${JSON.stringify(axes)} are not sorted distinct axes of ${fmtT(x)}`);
        }
      }
      if (name === 'max' && axes.some((ax) => x.shape[ax] === 0)) {
        throw new ShapeError(`max: cannot reduce an empty axis of ${fmtT(x)}`);
      }
      const shape = a.keepdims
        ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
        : x.shape.filter((_, i) => !axes.includes(i));
      return [t(x.dtype, shape)];
    },
  };
}

export const OPS = {
  // ---- leaves ----
  param: {
    kind: 'leaf',
    arity: 0,
    attrs: { dtype: 'element type', shape: 'dimensions' },
    doc: 'a graph parameter',
    infer(_i, a) {
      if (typeof a.dtype !== 'string' || !isDType(a.dtype))
        throw new DTypeError(`param: bad dtype ${JSON.stringify(a.dtype)}`);
      return [t(a.dtype, needShape('param', a.shape))];
    },
  },
  const: {
    kind: 'leaf',
    arity: 0,
    attrs: { value: 'the scalar (printed inline)', dtype: 'element type' },
    doc: 'a 0-d constant; a kernel argument at run time, never baked into kernel source',
    infer(_i, a) {
      if (typeof a.value !== 'number')
        throw new DTypeError(`const: value must be a number, got ${JSON.stringify(a.value)}`);
      if (typeof a.dtype !== 'string' || !isDType(a.dtype))
        throw new DTypeError(`const: bad dtype ${JSON.stringify(a.dtype)}`);
      return [t(a.dtype, [])];
    },
  },
  buffer: {
    kind: 'leaf',
    arity: 0,
    attrs: { dtype: 'element type', shape: 'dimensions' },
    doc: 'a realised tensor captured by the graph (printed `buffer #k`)',
    infer(_i, a) {
      if (typeof a.dtype !== 'string' || !isDType(a.dtype))
        throw new DTypeError(`buffer: bad dtype ${JSON.stringify(a.dtype)}`);
      return [t(a.dtype, needShape('buffer', a.shape))];
    },
  },
  iota: {
    kind: 'leaf',
    arity: 0,
    attrs: { shape: 'dimensions', axis: 'the axis whose index is the value' },
    doc: 'i32 tensor whose element is its index along `axis`',
    infer(_i, a) {
      const shape = needShape('iota', a.shape);
      const axis = a.axis as number;
      if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length)
        throw new ShapeError(`iota: axis ${axis} out of range for ${fmtShape(shape)}`);
      return [t('i32', shape)];
    },
  },
  random: {
    kind: 'leaf',
    arity: 1,
    attrs: { shape: 'dimensions', offset: 'added to the counter' },
    doc: 'f32 uniforms in [0, 1) from a counter-based hash of (key[0] = seed, key[1] + offset + flat index)',
    infer([key], a) {
      if (!Number.isInteger(a.offset))
        throw new ShapeError(`random: offset must be an integer, got ${JSON.stringify(a.offset)}`);
      if (key.dtype !== 'i32' || !shapesEqual(key.shape, [2]))
        throw new DTypeError(`random: key must be i32[2], got ${fmtT(key)}`);
      return [t('f32', needShape('random', a.shape))];
    },
  },

  // ---- unary ----
  neg: unary('neg', ['f32', 'i32']),
  abs: unary('abs', ['f32', 'i32']),
  sign: unary('sign', ['f32', 'i32']),
  exp: unary('exp', ['f32']),
  log: unary('log', ['f32']),
  sqrt: unary('sqrt', ['f32']),
  sin: unary('sin', ['f32']),
  cos: unary('cos', ['f32']),
  tanh: unary('tanh', ['f32']),
  sigmoid: unary('sigmoid', ['f32']),
  log1p: unary('log1p', ['f32']),
  expm1: unary('expm1', ['f32']),
  floor: unary('floor', ['f32'], 'largest integer <= x'),
  ceil: unary('ceil', ['f32'], 'smallest integer >= x'),
  round: unary('round', ['f32'], 'nearest integer, ties to even (numpy); keeps the sign of zero'),
  not: unary('not', ['bool']),

  // ---- binary ----
  add: binary('add', 'a + b (i32 wraps)', ['f32', 'i32']),
  sub: binary('sub', 'a - b (i32 wraps)', ['f32', 'i32']),
  mul: binary('mul', 'a * b (i32 wraps)', ['f32', 'i32']),
  div: binary('div', 'a / b (true division)', ['f32']),
  pow: binary('pow', 'a ** b', ['f32']),
  maximum: binary('maximum', 'elementwise max', ['f32', 'i32']),
  minimum: binary('minimum', 'elementwise min', ['f32', 'i32']),
  and: binary('and', 'logical and', ['bool']),
  or: binary('or', 'logical or', ['bool']),
  lt: compare('lt', 'a < b'),
  le: compare('le', 'a <= b'),
  gt: compare('gt', 'a > b'),
  ge: compare('ge', 'a >= b'),
  eq: compare('eq', 'a == b'),
  ne: compare('ne', 'a != b'),

  where: {
    kind: 'ternary',
    arity: 3,
    attrs: {},
    doc: 'cond ? a : b',
    infer([c, a, b]) {
      needDType('where', c, ['bool'], 'condition');
      if (a.dtype !== b.dtype) throw new DTypeError(`where: branch dtypes differ: ${fmtT(a)} and ${fmtT(b)}`);
      return [t(a.dtype, elementwiseShape('where', [c, a, b]))];
    },
  },

  // ---- reductions ----
  sum: reduction('sum', 'sum over axes'),
  max: reduction('max', 'maximum over axes'),

  // ---- movement ----
  reshape: {
    kind: 'movement',
    arity: 1,
    attrs: { shape: 'new dimensions (same element count)' },
    doc: 'row-major reshape',
    infer([x], a) {
      const shape = needShape('reshape', a.shape);
      if (sizeOf(shape) !== sizeOf(x.shape)) {
        throw new ShapeError(
          `reshape: cannot reshape ${fmtT(x)} (${sizeOf(x.shape)} elements) to ${fmtShape(shape)} (${sizeOf(shape)} elements)`,
        );
      }
      return [t(x.dtype, shape)];
    },
  },
  permute: {
    kind: 'movement',
    arity: 1,
    attrs: { perm: 'output axis i is input axis perm[i]' },
    doc: 'transpose axes',
    infer([x], a) {
      const perm = needInts('permute', 'perm', a.perm);
      if (!isPermutation(perm, x.shape.length))
        throw new ShapeError(
          `permute: ${JSON.stringify(perm)} is not a permutation of the ${x.shape.length} axes of ${fmtT(x)}`,
        );
      return [
        t(
          x.dtype,
          perm.map((p) => x.shape[p]),
        ),
      ];
    },
  },
  expand: {
    kind: 'movement',
    arity: 1,
    attrs: { shape: 'target dimensions (same rank; size-1 axes grow)' },
    doc: 'broadcast size-1 axes',
    infer([x], a) {
      const shape = needShape('expand', a.shape);
      if (shape.length !== x.shape.length || x.shape.some((d, i) => d !== shape[i] && d !== 1)) {
        throw new ShapeError(
          `expand: cannot expand ${fmtT(x)} to ${fmtShape(shape)} (same rank, only size-1 axes may grow)`,
        );
      }
      return [t(x.dtype, shape)];
    },
  },
  slice: {
    kind: 'movement',
    arity: 1,
    attrs: {
      starts: 'first index per axis',
      steps: 'non-zero step per axis',
      shape: 'number of elements taken per axis',
    },
    doc: 'strided slice: out[i] = x[starts + i * steps]',
    infer([x], a) {
      const n = x.shape.length;
      const starts = needInts('slice', 'starts', a.starts, n);
      const steps = needInts('slice', 'steps', a.steps, n);
      const shape = needShape('slice', a.shape);
      if (shape.length !== n) throw new ShapeError(`slice: shape ${fmtShape(shape)} has the wrong rank for ${fmtT(x)}`);
      for (let i = 0; i < n; i++) {
        if (steps[i] === 0) throw new ShapeError(`slice: step 0 on axis ${i} of ${fmtT(x)}`);
        const last = starts[i] + (shape[i] - 1) * steps[i];
        if (shape[i] > 0 && (starts[i] < 0 || starts[i] >= x.shape[i] || last < 0 || last >= x.shape[i])) {
          throw new ShapeError(
            `slice: axis ${i} reads outside ${fmtT(x)} (start ${starts[i]}, step ${steps[i]}, count ${shape[i]})`,
          );
        }
      }
      return [t(x.dtype, shape)];
    },
  },
  pad: {
    kind: 'movement',
    arity: 1,
    attrs: { pads: '[before, after] per axis (non-negative)', value: 'fill value' },
    doc: 'constant padding',
    infer([x], a) {
      const pads = a.pads as unknown;
      if (
        !Array.isArray(pads) ||
        pads.length !== x.shape.length ||
        !pads.every((p) => Array.isArray(p) && p.length === 2 && p.every((q) => Number.isInteger(q) && q >= 0))
      ) {
        throw new ShapeError(
          `pad: pads ${JSON.stringify(pads)} must be one [before, after] pair of non-negative integers per axis of ${fmtT(x)}`,
        );
      }
      if (typeof a.value !== 'number') throw new DTypeError(`pad: value must be a number`);
      return [
        t(
          x.dtype,
          x.shape.map((d, i) => d + (pads[i] as number[])[0] + (pads[i] as number[])[1]),
        ),
      ];
    },
  },
  concat: {
    kind: 'movement',
    arity: -1,
    attrs: { axis: 'the axis to join along' },
    doc: 'join tensors along an axis',
    infer(xs, a) {
      if (xs.length === 0) throw new ShapeError('concat: needs at least one tensor');
      const axis = a.axis as number;
      const r = xs[0].shape.length;
      if (!Number.isInteger(axis) || axis < 0 || axis >= r)
        throw new ShapeError(`concat: axis ${axis} out of range for rank ${r}`);
      let total = 0;
      for (const x of xs) {
        if (x.dtype !== xs[0].dtype) throw new DTypeError(`concat: dtypes differ: ${xs.map(fmtT).join(', ')}`);
        if (x.shape.length !== r || x.shape.some((d, i) => i !== axis && d !== xs[0].shape[i])) {
          throw new ShapeError(
            `concat: shapes ${xs.map((y) => fmtShape(y.shape)).join(', ')} differ outside axis ${axis}`,
          );
        }
        total += x.shape[axis];
      }
      return [
        t(
          xs[0].dtype,
          xs[0].shape.map((d, i) => (i === axis ? total : d)),
        ),
      ];
    },
  },

  gather: {
    kind: 'gather',
    arity: 2,
    attrs: { axis: 'the axis of x that the indices select along' },
    doc:
      "out[p] = x[p with p[axis] = indices[p]] (numpy take_along_axis): indices are i32 of x's rank and shape " +
      'but along `axis`, the result has their shape; a negative index counts from the end, and an index still ' +
      'outside [0, n) reads the nearest end (clamped: the frontend checks indices it can read)',
    infer([x, ind], a) {
      const axis = a.axis as number;
      const r = x.shape.length;
      if (!Number.isInteger(axis) || axis < 0 || axis >= r)
        throw new ShapeError(`gather: axis ${JSON.stringify(a.axis)} out of range for ${fmtT(x)}`);
      needDType('gather', ind, ['i32'], 'indices');
      if (ind.shape.length !== r || ind.shape.some((d, i) => i !== axis && d !== x.shape[i]))
        throw new ShapeError(
          `gather: indices ${fmtT(ind)} must have the shape of ${fmtT(x)} except along axis ${axis}`,
        );
      if (x.shape[axis] === 0 && sizeOf(ind.shape) > 0)
        throw new ShapeError(`gather: cannot gather from the empty axis ${axis} of ${fmtT(x)}`);
      return [t(x.dtype, ind.shape)];
    },
  },

  detach: {
    kind: 'movement',
    arity: 1,
    attrs: {},
    doc: 'identity whose gradient is zero (stopGradient); removed after autodiff',
    infer([x]) {
      return [t(x.dtype, x.shape)];
    },
  },

  cast: {
    kind: 'cast',
    arity: 1,
    attrs: { dtype: 'target dtype' },
    doc: 'convert; float -> i32 truncates toward zero',
    infer([x], a) {
      if (typeof a.dtype !== 'string' || !isDType(a.dtype))
        throw new DTypeError(`cast: bad target dtype ${JSON.stringify(a.dtype)}`);
      return [t(a.dtype, x.shape)];
    },
  },

  dot: {
    kind: 'dot',
    arity: 2,
    attrs: { batch: '[lhs axes, rhs axes] paired batch axes', contract: '[lhs axes, rhs axes] summed axes' },
    doc: 'generalised matmul; result axes: batch, lhs free, rhs free',
    infer([a, b], at) {
      if (a.dtype !== b.dtype) throw new DTypeError(`dot: operand dtypes differ: ${fmtT(a)} and ${fmtT(b)}`);
      needDType('dot', a, ['f32', 'i32']);
      const bat = at.batch as number[][];
      const con = at.contract as number[][];
      const ok = (p: unknown) =>
        Array.isArray(p) &&
        p.length === 2 &&
        p.every((q) => Array.isArray(q)) &&
        (p as number[][])[0].length === (p as number[][])[1].length;
      if (!ok(bat) || !ok(con))
        throw new ShapeError(`dot: batch and contract must be [lhsAxes, rhsAxes] pairs of equal length`);
      const used = [new Set<number>(), new Set<number>()];
      const pairs = [...bat[0].map((x, i) => [x, bat[1][i]]), ...con[0].map((x, i) => [x, con[1][i]])];
      for (const [l, r] of pairs) {
        if (!(l >= 0 && l < a.shape.length) || !(r >= 0 && r < b.shape.length) || used[0].has(l) || used[1].has(r)) {
          throw new ShapeError(
            `dot: bad axes batch=${JSON.stringify(bat)} contract=${JSON.stringify(con)} for ${fmtT(a)} and ${fmtT(b)}`,
          );
        }
        used[0].add(l);
        used[1].add(r);
        if (a.shape[l] !== b.shape[r]) {
          throw new ShapeError(
            `dot: axis ${l} of ${fmtT(a)} (size ${a.shape[l]}) does not match axis ${r} of ${fmtT(b)} (size ${b.shape[r]})`,
          );
        }
      }
      const shape = [
        ...bat[0].map((l) => a.shape[l]),
        ...a.shape.filter((_, i) => !used[0].has(i)),
        ...b.shape.filter((_, i) => !used[1].has(i)),
      ];
      return [t(a.dtype, shape)];
    },
  },

  vjp: {
    kind: 'higher',
    arity: -1,
    attrs: { wrt: 'indices of the body parameters whose cotangents are returned' },
    doc: 'reverse-mode derivative of the body: inputs are primals then one cotangent per body output; outputs are the body outputs then the cotangents of the wrt parameters',
    infer(xs, a, body) {
      if (!body) throw new GraphError('vjp: node has no body graph');
      const np = body.params.length;
      const no = body.outputs.length;
      if (xs.length !== np + no)
        throw new GraphError(`vjp: expected ${np} primals and ${no} cotangents, got ${xs.length} inputs`);
      const wrt = needInts('vjp', 'wrt', a.wrt);
      body.params.forEach((p, i) => {
        const pt = p.types[0];
        if (pt.dtype !== xs[i].dtype || !shapesEqual(pt.shape, xs[i].shape))
          throw new ShapeError(`vjp: primal ${i} is ${fmtT(xs[i])}, body expects ${fmtT(pt)}`);
      });
      body.outputs.forEach((o, i) => {
        const ct = xs[np + i];
        if (ct.dtype !== o.dtype || !shapesEqual(ct.shape, o.shape))
          throw new ShapeError(`vjp: cotangent ${i} is ${fmtT(ct)}, body output is ${fmtT(o.type)}`);
      });
      for (const w of wrt) {
        if (!(w >= 0 && w < np)) throw new GraphError(`vjp: wrt index ${w} out of range`);
        if (body.params[w].types[0].dtype !== 'f32')
          throw new DTypeError(
            `vjp: cannot differentiate with respect to parameter ${w} of dtype ${body.params[w].types[0].dtype}`,
          );
      }
      return [
        ...body.outputs.map((o) => t(o.dtype, o.shape)),
        ...wrt.map((w) => t('f32', body.params[w].types[0].shape)),
      ];
    },
  },
} satisfies Record<string, OpDef>;

export type OpName = keyof typeof OPS;

export function isOp(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, name);
}

export function opDef(name: string): OpDef {
  if (!isOp(name)) throw new GraphError(`unknown op '${name}'`);
  return OPS[name];
}

/**
 * The VJP rule of every primitive, as IR. A rule receives the output
 * cotangent and the forward values (already in the outer graph) and returns
 * one cotangent per input (null: no gradient flows there). The table is
 * typed over every op name, so a primitive without a rule fails to compile.
 *
 * Binary primitives broadcast 0-d operands implicitly; `unbroadcast` sums a
 * cotangent back to such an operand's shape. The VJP of `expand` is a sum
 * over the broadcast axes, and the VJP of `dot` is made of `dot`s.
 */
import { type Node, type OpName, type Value, constant, emit, type Shape } from '../ir';

export interface VjpArgs {
  readonly node: Node;
  /** Forward values of the node's inputs (outer graph). */
  readonly x: readonly Value[];
  /** Forward value of the node's output (outer graph). */
  readonly y: Value;
  /** Cotangent of the output. */
  readonly g: Value;
}

type Rule = (a: VjpArgs) => (Value | null)[];

// ---- small IR builders ----
const f = (v: number) => constant(v, 'f32');
const mul = (a: Value, b: Value) => emit('mul', [a, b]);
const add = (a: Value, b: Value) => emit('add', [a, b]);
const sub = (a: Value, b: Value) => emit('sub', [a, b]);
const div = (a: Value, b: Value) => emit('div', [a, b]);
const neg = (a: Value) => emit('neg', [a]);
const castF = (a: Value) => (a.dtype === 'f32' ? a : emit('cast', [a], { dtype: 'f32' }));
const where = (c: Value, a: Value, b: Value) => emit('where', [c, a, b]);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Sums a cotangent of `shape` down to `target` (same shape, or 0-d). */
export function unbroadcast(g: Value, target: Shape): Value {
  if (target.length === 0 && g.shape.length > 0)
    return emit('sum', [g], { axes: range(g.shape.length), keepdims: false });
  return g;
}

/** Broadcasts a 0-d value to `shape` (explicitly, for operations that need equal shapes). */
export function broadcastTo(v: Value, shape: Shape): Value {
  if (v.shape.length === shape.length) return v;
  return emit('expand', [emit('reshape', [v], { shape: shape.map(() => 1) })], { shape: [...shape] });
}

export function zerosLike(shape: Shape): Value {
  return broadcastTo(f(0), shape);
}

const un = (a: VjpArgs, dx: Value) => [unbroadcast(dx, a.x[0].shape)];

/** Scatter of a strided slice's cotangent back into the input's shape, one axis at a time. */
function sliceVjp({ node, x, g }: VjpArgs): Value {
  const starts = node.attrs.starts as number[];
  const steps = node.attrs.steps as number[];
  const xs = x[0].shape;
  let cur = g;
  for (let ax = 0; ax < xs.length; ax++) {
    const n = cur.shape[ax];
    const step = steps[ax];
    let start = starts[ax];
    if (n === 0) return zerosLike(xs);
    if (step < 0) {
      // Reverse this axis so the step is positive from the lowest index read.
      cur = emit('slice', [cur], {
        starts: cur.shape.map((_, i) => (i === ax ? n - 1 : 0)),
        steps: cur.shape.map((_, i) => (i === ax ? -1 : 1)),
        shape: [...cur.shape],
      });
      start = start + (n - 1) * step;
    }
    const s = Math.abs(step);
    if (s > 1) {
      // Interleave s-1 zeros after each element: [.., n, ..] -> [.., n, s, ..] -> [.., n*s, ..] -> first (n-1)*s+1.
      const shp = cur.shape;
      const withAxis = [...shp.slice(0, ax + 1), 1, ...shp.slice(ax + 1)];
      let t = emit('reshape', [cur], { shape: withAxis });
      t = emit('pad', [t], { pads: withAxis.map((_, i) => (i === ax + 1 ? [0, s - 1] : [0, 0])), value: 0 });
      const merged = [...shp.slice(0, ax), n * s, ...shp.slice(ax + 1)];
      t = emit('reshape', [t], { shape: merged });
      const keep = [...shp.slice(0, ax), (n - 1) * s + 1, ...shp.slice(ax + 1)];
      cur = emit('slice', [t], { starts: keep.map(() => 0), steps: keep.map(() => 1), shape: keep });
    }
    const after = xs[ax] - start - cur.shape[ax];
    if (start > 0 || after > 0)
      cur = emit('pad', [cur], { pads: cur.shape.map((_, i) => (i === ax ? [start, after] : [0, 0])), value: 0 });
  }
  return cur;
}

function dotVjp({ node, x: [a, b], g }: VjpArgs): (Value | null)[] {
  const [lb, rb] = node.attrs.batch as number[][];
  const [lc, rc] = node.attrs.contract as number[][];
  const nb = lb.length;
  const aFree = range(a.shape.length).filter((i) => !lb.includes(i) && !lc.includes(i));
  const bFree = range(b.shape.length).filter((i) => !rb.includes(i) && !rc.includes(i));
  const gBatch = range(nb);
  const gA = aFree.map((_, j) => nb + j);
  const gB = bFree.map((_, j) => nb + aFree.length + j);
  // da = g . b over b's free axes; result axes: batch, a free, b's contracted axes (ascending).
  const da0 = emit('dot', [g, b], { batch: [gBatch, rb], contract: [gB, bFree] });
  const rcSorted = [...rc].sort((p, q) => p - q);
  const aPerm = range(a.shape.length).map((ax) => {
    if (lb.includes(ax)) return lb.indexOf(ax);
    if (aFree.includes(ax)) return nb + aFree.indexOf(ax);
    return nb + aFree.length + rcSorted.indexOf(rc[lc.indexOf(ax)]);
  });
  const db0 = emit('dot', [g, a], { batch: [gBatch, lb], contract: [gA, aFree] });
  const lcSorted = [...lc].sort((p, q) => p - q);
  const bPerm = range(b.shape.length).map((ax) => {
    if (rb.includes(ax)) return rb.indexOf(ax);
    if (bFree.includes(ax)) return nb + bFree.indexOf(ax);
    return nb + bFree.length + lcSorted.indexOf(lc[rc.indexOf(ax)]);
  });
  const permute = (v: Value, perm: number[]) => (perm.every((p, i) => p === i) ? v : emit('permute', [v], { perm }));
  return [permute(da0, aPerm), permute(db0, bPerm)];
}

/**
 * The index `gather` reads for each entry of `indices` along an axis of n: negative ones count
 * from the end, the rest clamp into [0, n) — the lowering's rule (passes/lower-expr.ts), as IR.
 */
function gatheredIndex(indices: Value, n: number): Value {
  const i = (v: number) => constant(v, 'i32');
  const wrapped = where(emit('lt', [indices, i(0)]), add(indices, i(n)), indices);
  return emit('minimum', [emit('maximum', [wrapped, i(0)]), i(n - 1)]);
}

/**
 * VJP of gather: a scatter-add of the cotangent into zeros of x's shape, duplicate indices summed,
 * deterministic and without atomics (gpujs has none). When the indices are the same along every
 * other axis (`take`, an embedding lookup: an expand of one index per position m), it is a `dot`
 * of the one-hot matrix [m, k] = (index[m] == k) with the cotangent over m, which fuses the one-hot
 * into the register-tiled dot's packing. Otherwise, along a new axis of x's extent n next to the
 * gathered one, dx[.., k, ..] = sum over m of (index[.., m, ..] == k ? g[.., m, ..] : 0).
 */
function gatherVjp({ node, x: [x, indices], g }: VjpArgs): (Value | null)[] {
  const axis = node.attrs.axis as number;
  const n = x.shape[axis];
  const m = g.shape[axis];
  if (n === 0 || m === 0) return [zerosLike(x.shape), null];
  const perPosition = perPositionIndices(indices, axis);
  if (perPosition) {
    const hit = emit('eq', [
      emit('expand', [emit('reshape', [gatheredIndex(perPosition, n)], { shape: [m, 1] })], { shape: [m, n] }),
      emit('iota', [], { shape: [m, n], axis: 1 }),
    ]);
    // Result axes: k, then g's axes but `axis`; k moves back to `axis`.
    const dx = emit('dot', [castF(hit), g], { batch: [[], []], contract: [[0], [axis]] });
    const perm = x.shape.map((_, d) => (d === axis ? 0 : d < axis ? d + 1 : d));
    return [perm.every((p, i) => p === i) ? dx : emit('permute', [dx], { perm }), null];
  }
  const withAxis = [...g.shape.slice(0, axis + 1), 1, ...g.shape.slice(axis + 1)];
  const wide = [...g.shape.slice(0, axis + 1), n, ...g.shape.slice(axis + 1)];
  const spread = (v: Value) => emit('expand', [emit('reshape', [v], { shape: withAxis })], { shape: wide });
  const hit = emit('eq', [spread(gatheredIndex(indices, n)), emit('iota', [], { shape: wide, axis: axis + 1 })]);
  return [emit('sum', [where(hit, spread(g), f(0))], { axes: [axis], keepdims: false }), null];
}

/** The indices as one per position along `axis` ([m]) when they are an expand of such, else undefined. */
function perPositionIndices(indices: Value, axis: number): Value | undefined {
  if (indices.node.op !== 'expand') return undefined;
  const src = indices.node.inputs[0];
  if (!src.shape.every((d, i) => i === axis || d === 1)) return undefined;
  return emit('reshape', [src], { shape: [src.shape[axis]] });
}

function reduceKeep(node: Node, v: Value, xShape: Shape): Value {
  const axes = node.attrs.axes as number[];
  const keep = xShape.map((d, i) => (axes.includes(i) ? 1 : d));
  const r = emit('reshape', [v], { shape: keep });
  return emit('expand', [r], { shape: [...xShape] });
}

export const VJP_RULES: { readonly [P in OpName]: Rule | 'leaf' } = {
  param: 'leaf',
  const: 'leaf',
  buffer: 'leaf',
  iota: 'leaf',
  random: () => [null],
  neg: (a) => un(a, neg(a.g)),
  abs: (a) => un(a, mul(a.g, emit('sign', [a.x[0]]))),
  sign: () => [null],
  exp: (a) => un(a, mul(a.g, a.y)),
  log: (a) => un(a, div(a.g, a.x[0])),
  sqrt: (a) => un(a, div(mul(a.g, f(0.5)), a.y)),
  sin: (a) => un(a, mul(a.g, emit('cos', [a.x[0]]))),
  cos: (a) => un(a, neg(mul(a.g, emit('sin', [a.x[0]])))),
  tanh: (a) => un(a, mul(a.g, sub(f(1), mul(a.y, a.y)))),
  sigmoid: (a) => un(a, mul(a.g, mul(a.y, sub(f(1), a.y)))),
  log1p: (a) => un(a, div(a.g, add(f(1), a.x[0]))),
  expm1: (a) => un(a, mul(a.g, add(a.y, f(1)))),
  // Piecewise constant: zero almost everywhere (and no gradient at the jumps), as PyTorch and JAX.
  floor: () => [null],
  ceil: () => [null],
  round: () => [null],
  not: () => [null],
  add: ({ x, g }) => [unbroadcast(g, x[0].shape), unbroadcast(g, x[1].shape)],
  sub: ({ x, g }) => [unbroadcast(g, x[0].shape), unbroadcast(neg(g), x[1].shape)],
  mul: ({ x, g }) => [unbroadcast(mul(g, x[1]), x[0].shape), unbroadcast(mul(g, x[0]), x[1].shape)],
  div: ({ x, y, g }) => [unbroadcast(div(g, x[1]), x[0].shape), unbroadcast(neg(div(mul(g, y), x[1])), x[1].shape)],
  pow: ({ x: [a, b], y, g }) => {
    // d/da a^b = b a^(b-1); 0 where b = 0 (not 0 * inf at a = 0), as PyTorch and JAX.
    const da = where(emit('eq', [b, f(0)]), f(0), mul(g, mul(b, emit('pow', [a, sub(b, f(1))]))));
    // d/db a^b = a^b log a; where a^b is 0 the product is 0 (not 0 * -inf).
    const db = where(emit('eq', [y, f(0)]), f(0), mul(g, mul(y, emit('log', [a]))));
    return [unbroadcast(da, a.shape), unbroadcast(broadcastTo(db, g.shape), b.shape)];
  },
  maximum: ({ x: [a, b], g }) => {
    // Ties split the gradient evenly, as PyTorch and JAX do.
    const wa = add(castF(emit('gt', [a, b])), mul(castF(emit('eq', [a, b])), f(0.5)));
    return [unbroadcast(mul(g, wa), a.shape), unbroadcast(mul(g, sub(f(1), wa)), b.shape)];
  },
  minimum: ({ x: [a, b], g }) => {
    const wa = add(castF(emit('lt', [a, b])), mul(castF(emit('eq', [a, b])), f(0.5)));
    return [unbroadcast(mul(g, wa), a.shape), unbroadcast(mul(g, sub(f(1), wa)), b.shape)];
  },
  and: () => [null, null],
  or: () => [null, null],
  lt: () => [null, null],
  le: () => [null, null],
  gt: () => [null, null],
  ge: () => [null, null],
  eq: () => [null, null],
  ne: () => [null, null],
  where: ({ x: [c, a, b], g }) => {
    const z = f(0);
    return [
      null,
      unbroadcast(broadcastTo(where(c, g, z), g.shape), a.shape),
      unbroadcast(broadcastTo(where(c, z, g), g.shape), b.shape),
    ];
  },
  sum: ({ node, x, g }) => [reduceKeep(node, g, x[0].shape)],
  max: ({ node, x, y, g }) => {
    // Ties split evenly among the tied elements.
    const mask = castF(emit('eq', [x[0], reduceKeep(node, y, x[0].shape)]));
    const count = emit('sum', [mask], { axes: node.attrs.axes as number[], keepdims: false });
    const share = div(emit('reshape', [g], { shape: count.shape as number[] }), count);
    return [mul(mask, reduceKeep(node, share, x[0].shape))];
  },
  reshape: ({ x, g }) => [emit('reshape', [g], { shape: [...x[0].shape] })],
  permute: ({ node, g }) => {
    const perm = node.attrs.perm as number[];
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [emit('permute', [g], { perm: inv })];
  },
  expand: ({ x, g }) => {
    const axes = x[0].shape.map((d, i) => (d === 1 && g.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
    return [axes.length ? emit('sum', [g], { axes, keepdims: true }) : g];
  },
  slice: (a) => [sliceVjp(a)],
  pad: ({ node, x, g }) => {
    const pads = node.attrs.pads as number[][];
    return [emit('slice', [g], { starts: pads.map((p) => p[0]), steps: pads.map(() => 1), shape: [...x[0].shape] })];
  },
  concat: ({ node, x, g }) => {
    const axis = node.attrs.axis as number;
    let off = 0;
    return x.map((xi) => {
      const starts = xi.shape.map((_, i) => (i === axis ? off : 0));
      off += xi.shape[axis];
      return emit('slice', [g], { starts, steps: xi.shape.map(() => 1), shape: [...xi.shape] });
    });
  },
  gather: gatherVjp,
  detach: () => [null],
  cast: ({ x, y, g }) => [x[0].dtype === 'f32' && y.dtype === 'f32' ? g : null],
  dot: dotVjp,
  vjp: () => {
    throw new Error('autodiff: nested vjp nodes are expanded before their parent');
  },
};

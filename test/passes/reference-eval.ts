/**
 * An independent float64 reference evaluator of lazygrad IR graphs, for the
 * fusion property tests. It walks a graph's nodes in order and computes each
 * primitive with plain loops, from the op table's documented semantics
 * (ir/ops.ts); it shares nothing with lowering or code generation, and on
 * purpose not the kernel interpreter ir/kernel-eval.ts either (that one
 * defines what kernel expressions mean for the backends and the op-table
 * tests; this one checks lowering and code generation from outside). `vjp`
 * nodes are evaluated by its own reverse mode (float64 VJP rules written
 * here, with the SPEC's conventions: ties split evenly, no gradient through
 * casts to int/bool, comparisons or `detach`).
 *
 * Every value also carries an error scale `err` per element: a first-order
 * running bound on the absolute error a float32 evaluation may have, in
 * units of the relative rounding error (so the allowed difference is
 * `rel * err`). It is |y| (one rounding) plus each input's scale times the
 * partial derivative's magnitude, plus (n-1) * sum|terms| for a reduction of
 * n terms (float32 accumulation). Where a float32 evaluation may take the
 * other side of a discontinuity (a comparison, sign, truncating cast or max
 * whose operands are closer than their error scales, but not exactly equal),
 * the scale is Infinity ("fragile"): callers skip those elements.
 * Exact ties (equal in float64) are taken to be exact in float32 too: they
 * come from broadcasts, pads and repeated operands.
 *
 * int32 arithmetic wraps (Math.imul semantics). `int32Peak` also reports the
 * largest magnitude any int32 result, product or partial sum reaches before
 * wrapping, for backends whose int32 is exact only in a narrower range.
 */
import type { Graph, Node, TensorType, Value } from '../../ir';

export interface RefValue {
  readonly data: Float64Array;
  /** Error scale per element (Infinity: fragile). */
  readonly err: Float64Array;
}

/** Relative rounding error per unit of error scale used to decide fragility. */
export const DEFAULT_REL = 4e-6;

// ---------------------------------------------------------------- indexing

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function strides(s: readonly number[]): number[] {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

/** Calls fn(multiIndex, flat) for every index of `shape`, row-major. */
function forEach(shape: readonly number[], fn: (idx: number[], flat: number) => void): void {
  const n = prod(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    fn(idx, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

const flatOf = (idx: readonly number[], st: readonly number[]) => idx.reduce((a, v, i) => a + v * st[i], 0);

/** a * b where b may be Infinity and a zero (an exactly zero partial stops a fragile value). */
const scale = (a: number, b: number) => (a === 0 ? 0 : a * b);

// ---------------------------------------------------------------- elementwise

/** Partial derivatives of an elementwise op at x (y is its value there). */
type Partials = (x: number[], y: number) => number[];

const F32_UNARY: Record<string, [(x: number) => number, Partials]> = {
  neg: [(x) => -x, () => [-1]],
  abs: [Math.abs, ([x]) => [Math.sign(x)]],
  sign: [Math.sign, () => [0]],
  exp: [Math.exp, (_x, y) => [y]],
  log: [Math.log, ([x]) => [1 / x]],
  sqrt: [Math.sqrt, (_x, y) => [0.5 / y]],
  sin: [Math.sin, ([x]) => [Math.cos(x)]],
  cos: [Math.cos, ([x]) => [-Math.sin(x)]],
  tanh: [Math.tanh, (_x, y) => [1 - y * y]],
  sigmoid: [(x) => 1 / (1 + Math.exp(-x)), (_x, y) => [y * (1 - y)]],
  log1p: [Math.log1p, ([x]) => [1 / (1 + x)]],
  expm1: [Math.expm1, (_x, y) => [y + 1]],
  floor: [Math.floor, () => [0]],
  ceil: [Math.ceil, () => [0]],
  round: [roundHalfEven, () => [0]],
};

const F32_BINARY: Record<string, [(a: number, b: number) => number, Partials]> = {
  add: [(a, b) => a + b, () => [1, 1]],
  sub: [(a, b) => a - b, () => [1, -1]],
  mul: [(a, b) => a * b, ([a, b]) => [b, a]],
  div: [(a, b) => a / b, ([a, b]) => [1 / b, -a / (b * b)]],
  pow: [Math.pow, ([a, b], y) => [b * Math.pow(a, b - 1), y === 0 ? 0 : y * Math.log(a)]],
  maximum: [Math.max, ([a, b]) => (a > b ? [1, 0] : a < b ? [0, 1] : [0.5, 0.5])],
  minimum: [Math.min, ([a, b]) => (a < b ? [1, 0] : a > b ? [0, 1] : [0.5, 0.5])],
};

/** Ops whose partials are piecewise constant (their jumps are handled as fragile points). */
const CONSTANT_PARTIALS = new Set(['neg', 'abs', 'sign', 'floor', 'ceil', 'round', 'add', 'sub', 'maximum', 'minimum']);

/** numpy's round, written here from its definition: the nearest integer, ties to the even one. */
function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x);
  const d = x - f;
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  // A zero result keeps x's sign (round(-0.4) is -0).
  return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
}

/** Where floor, ceil and round jump: the nearest integer, or (round) the nearest half-integer. */
function jumpNear(op: string, x: number): number {
  return op === 'round' ? Math.floor(x) + 0.5 : Math.round(x);
}

function apply(op: string, x: readonly number[]): number {
  return x.length === 1 ? F32_UNARY[op][0](x[0]) : F32_BINARY[op][0](x[0], x[1]);
}

/**
 * Partials at x and their error scales: |partial| (its own rounding) plus
 * sum_i |d partial / d x_i| * m_i (the inputs' errors moving it), the second
 * derivatives taken by central differences in float64.
 */
function partials(op: string, x: readonly number[], y: number, m: readonly number[]): { d: number[]; dd: number[] } {
  const pd = (x.length === 1 ? F32_UNARY : F32_BINARY)[op][1];
  const d = pd([...x], y);
  const dd = d.map(Math.abs);
  if (CONSTANT_PARTIALS.has(op)) return { d, dd };
  x.forEach((xi, i) => {
    if (m[i] === 0) return;
    const h = 1e-5 * Math.max(Math.abs(xi), 1e-3);
    const up = [...x];
    const dn = [...x];
    up[i] += h;
    dn[i] -= h;
    const [du, dl] = [pd(up, apply(op, up)), pd(dn, apply(op, dn))];
    d.forEach((_, j) => (dd[j] += scale(Math.abs(du[j] - dl[j]) / (2 * h), m[i])));
  });
  return { d, dd };
}

/** Largest unwrapped int32 magnitude seen since the last reset (see int32Peak). */
let intPeak = 0;
/** Records the unwrapped magnitude of an int32 result. */
const seen = (v: number) => {
  if (Math.abs(v) > intPeak) intPeak = Math.abs(v);
};
/** Wraps an exact int32 result to 32 bits. */
const wrap = (v: number) => (seen(v), v | 0);

const I32_UNARY: Record<string, (x: number) => number> = {
  neg: (x) => wrap(-x),
  abs: (x) => wrap(Math.abs(x)),
  sign: Math.sign,
};

const I32_BINARY: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => wrap(a + b),
  sub: (a, b) => wrap(a - b),
  mul: (a, b) => (seen(a * b), Math.imul(a, b)),
  maximum: Math.max,
  minimum: Math.min,
};

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
};

/** Close enough that float32 may order them differently, but not an exact tie. */
const nearTie = (a: number, b: number, ma: number, mb: number, rel: number) =>
  ma + mb === Infinity || (a !== b && Math.abs(a - b) <= rel * (ma + mb));

/** Reads operand j at output element k: a 0-d operand broadcasts. */
const at = (types: readonly TensorType[], j: number, k: number) => (types[j].shape.length === 0 ? 0 : k);

function elementwise(n: Node, ins: readonly RefValue[], rel: number): RefValue {
  const types = n.inputs.map((v) => v.type);
  const size = prod(n.types[0].shape);
  const data = new Float64Array(size);
  const err = new Float64Array(size);
  const inDt = types[types.length - 1].dtype;
  for (let k = 0; k < size; k++) {
    const x = ins.map((v, j) => v.data[at(types, j, k)]);
    const m = ins.map((v, j) => v.err[at(types, j, k)]);
    const op = n.op;
    let y: number;
    let e = Math.max(0, ...m); // exact ops: error only propagates fragility
    if (op === 'where') {
      y = x[0] ? x[1] : x[2];
      e = m[0] === Infinity ? Infinity : x[0] ? m[1] : m[2];
    } else if (op in COMPARE) {
      y = COMPARE[op](x[0], x[1]) ? 1 : 0;
      e = nearTie(x[0], x[1], m[0], m[1], rel) ? Infinity : 0;
    } else if (op === 'not') y = x[0] ? 0 : 1;
    else if (op === 'and') y = x[0] && x[1] ? 1 : 0;
    else if (op === 'or') y = x[0] || x[1] ? 1 : 0;
    else if (inDt === 'i32') y = x.length === 1 ? I32_UNARY[op](x[0]) : I32_BINARY[op](x[0], x[1]);
    else {
      y = apply(op, x);
      if (op === 'sign') e = nearTie(x[0], 0, m[0], 0, rel) ? Infinity : 0;
      else if (op === 'floor' || op === 'ceil' || op === 'round')
        e = nearTie(x[0], jumpNear(op, x[0]), m[0], 0, rel) ? Infinity : 0;
      else if (op === 'maximum' || op === 'minimum') e = Math.abs(y) + Math.max(m[0], m[1]);
      else {
        const d = (x.length === 1 ? F32_UNARY : F32_BINARY)[op][1](x, y);
        e = Math.abs(y) + d.reduce((a, dj, j) => a + scale(Math.abs(dj), m[j]), 0);
      }
    }
    data[k] = y;
    err[k] = e;
  }
  return { data, err };
}

// ---------------------------------------------------------------- movement as index maps

/** For each output element: [input, flat index in it], or [-1, 0] for padding. */
function movementMap(n: Node): Int32Array[] {
  const out = n.types[0].shape;
  const ins = n.inputs.map((v) => v.shape);
  const src = new Int32Array(prod(out));
  const pos = new Int32Array(prod(out));
  const st = ins.map(strides);
  const a = n.attrs;
  forEach(out, (idx, k) => {
    let j = 0;
    let i = idx;
    switch (n.op) {
      case 'reshape':
      case 'detach':
        pos[k] = k;
        return;
      case 'permute':
        i = (a.perm as number[]).map((_, d) => idx[(a.perm as number[]).indexOf(d)]);
        break;
      case 'expand':
        i = idx.map((v, d) => (ins[0][d] === 1 ? 0 : v));
        break;
      case 'slice':
        i = idx.map((v, d) => (a.starts as number[])[d] + v * (a.steps as number[])[d]);
        break;
      case 'pad': {
        i = idx.map((v, d) => v - (a.pads as number[][])[d][0]);
        if (i.some((v, d) => v < 0 || v >= ins[0][d])) {
          src[k] = -1;
          return;
        }
        break;
      }
      case 'concat': {
        const ax = a.axis as number;
        let off = idx[ax];
        while (off >= ins[j][ax]) off -= ins[j++][ax];
        i = idx.map((v, d) => (d === ax ? off : v));
        break;
      }
    }
    src[k] = j;
    pos[k] = flatOf(i, st[j]);
  });
  return [src, pos];
}

function movement(n: Node, ins: readonly RefValue[]): RefValue {
  const [src, pos] = movementMap(n);
  const data = new Float64Array(src.length);
  const err = new Float64Array(src.length);
  for (let k = 0; k < src.length; k++) {
    if (src[k] < 0)
      data[k] = n.attrs.value as number; // exact constant: err 0
    else {
      data[k] = ins[src[k]].data[pos[k]];
      err[k] = ins[src[k]].err[pos[k]];
    }
  }
  return { data, err };
}

/**
 * Flat index into x of each output element of `gather` (numpy take_along_axis): the index read
 * from `indices`, negative ones from the end, the rest clamped into the axis (ir/ops.ts).
 */
function gatherMap(n: Node, indices: RefValue): Int32Array {
  const xs = n.inputs[0].shape;
  const axis = n.attrs.axis as number;
  const len = xs[axis];
  const st = strides(xs);
  const pos = new Int32Array(indices.data.length);
  forEach(n.types[0].shape, (idx, k) => {
    const raw = indices.data[k];
    const i = Math.min(Math.max(raw < 0 ? raw + len : raw, 0), len - 1);
    pos[k] = flatOf(
      idx.map((v, d) => (d === axis ? i : v)),
      st,
    );
  });
  return pos;
}

/** A fragile index (from a truncating cast near a jump) may read another element: the read is fragile. */
function gather(n: Node, [x, indices]: readonly RefValue[]): RefValue {
  const pos = gatherMap(n, indices);
  return {
    data: Float64Array.from(pos, (p) => x.data[p]),
    err: Float64Array.from(pos, (p, k) => (indices.err[k] > 0 ? Infinity : x.err[p])),
  };
}

// ---------------------------------------------------------------- reductions, dot, cast

/** Output flat index of each input element of a reduction. */
function reduceMap(n: Node): Int32Array {
  const xs = n.inputs[0].shape;
  const axes = n.attrs.axes as number[];
  const kept = xs.map((d, i) => (axes.includes(i) ? 1 : d));
  const st = strides(kept);
  const map = new Int32Array(prod(xs));
  forEach(
    xs,
    (idx, i) =>
      (map[i] = flatOf(
        idx.map((v, d) => (axes.includes(d) ? 0 : v)),
        st,
      )),
  );
  return map;
}

function reduce(n: Node, [x]: readonly RefValue[]): RefValue {
  const map = reduceMap(n);
  const size = prod(n.types[0].shape);
  const isMax = n.op === 'max';
  const int = n.types[0].dtype === 'i32';
  const data = new Float64Array(size).fill(isMax ? -Infinity : 0);
  const err = new Float64Array(size);
  const absSum = new Float64Array(size);
  const count = new Float64Array(size);
  for (let i = 0; i < map.length; i++) {
    const o = map[i];
    const v = x.data[i];
    if (isMax) data[o] = Math.max(data[o], v);
    else data[o] = int ? (data[o] + v) | 0 : data[o] + v;
    err[o] = isMax || int ? Math.max(err[o], x.err[i]) : err[o] + x.err[i];
    absSum[o] += Math.abs(v);
    count[o]++;
  }
  if (!int) for (let o = 0; o < size; o++) err[o] += Math.abs(data[o]) + (isMax ? 0 : (count[o] - 1) * absSum[o]);
  // Any partial sum, in any order, is bounded by the sum of |terms|.
  else if (!isMax) absSum.forEach(seen);
  return { data, err };
}

/** Every (result, lhs, rhs) flat index triple of a dot, and the contraction length. */
function dotTriples(n: Node): { r: Int32Array; ia: Int32Array; ib: Int32Array; len: number } {
  const [as, bs] = n.inputs.map((v) => v.shape);
  const [lb, rb] = n.attrs.batch as number[][];
  const [lc, rc] = n.attrs.contract as number[][];
  const aFree = as.map((_, i) => i).filter((i) => !lb.includes(i) && !lc.includes(i));
  const bFree = bs.map((_, i) => i).filter((i) => !rb.includes(i) && !rc.includes(i));
  const cShape = lc.map((ax) => as[ax]);
  const [sa, sb] = [strides(as), strides(bs)];
  const r: number[] = [];
  const ia: number[] = [];
  const ib: number[] = [];
  forEach(n.types[0].shape, (idx, k) => {
    const ai = new Array<number>(as.length).fill(0);
    const bi = new Array<number>(bs.length).fill(0);
    lb.forEach((ax, j) => (ai[ax] = idx[j]));
    rb.forEach((ax, j) => (bi[ax] = idx[j]));
    aFree.forEach((ax, j) => (ai[ax] = idx[lb.length + j]));
    bFree.forEach((ax, j) => (bi[ax] = idx[lb.length + aFree.length + j]));
    forEach(cShape, (c) => {
      lc.forEach((ax, j) => (ai[ax] = c[j]));
      rc.forEach((ax, j) => (bi[ax] = c[j]));
      r.push(k);
      ia.push(flatOf(ai, sa));
      ib.push(flatOf(bi, sb));
    });
  });
  return { r: Int32Array.from(r), ia: Int32Array.from(ia), ib: Int32Array.from(ib), len: prod(cShape) };
}

function dot(n: Node, [a, b]: readonly RefValue[]): RefValue {
  const { r, ia, ib, len } = dotTriples(n);
  const size = prod(n.types[0].shape);
  const int = n.types[0].dtype === 'i32';
  const data = new Float64Array(size);
  const err = new Float64Array(size);
  const absSum = new Float64Array(size);
  for (let t = 0; t < r.length; t++) {
    const [x, y] = [a.data[ia[t]], b.data[ib[t]]];
    absSum[r[t]] += Math.abs(x * y);
    data[r[t]] = int ? (data[r[t]] + Math.imul(x, y)) | 0 : data[r[t]] + x * y;
    err[r[t]] += int
      ? Math.max(a.err[ia[t]], b.err[ib[t]])
      : scale(Math.abs(x), b.err[ib[t]]) + scale(Math.abs(y), a.err[ia[t]]) + len * Math.abs(x * y);
  }
  if (!int) for (let k = 0; k < size; k++) err[k] += Math.abs(data[k]);
  else absSum.forEach(seen);
  return { data, err };
}

function cast(n: Node, [x]: readonly RefValue[], rel: number): RefValue {
  const from = n.inputs[0].dtype;
  const to = n.types[0].dtype;
  const data = new Float64Array(x.data.length);
  const err = new Float64Array(x.data.length);
  for (let k = 0; k < data.length; k++) {
    const v = x.data[k];
    const m = x.err[k];
    if (to === 'bool') {
      data[k] = v !== 0 ? 1 : 0;
      err[k] = from === 'f32' ? (nearTie(v, 0, m, 0, rel) ? Infinity : 0) : m;
    } else if (to === 'i32') {
      data[k] = wrap(Math.trunc(v));
      // Truncation jumps at every non-zero integer.
      const r = Math.round(v);
      err[k] =
        from === 'f32' && r !== 0 && nearTie(v, r, m, 0, rel)
          ? Infinity
          : from === 'f32'
            ? m === Infinity
              ? Infinity
              : 0
            : m;
    } else {
      data[k] = v;
      err[k] = from === 'i32' ? m + Math.abs(v) : m; // large ints round to float32
    }
  }
  return { data, err };
}

// ---------------------------------------------------------------- forward evaluation

function leaf(n: Node): RefValue {
  const t = n.types[0];
  const data = new Float64Array(prod(t.shape));
  if (n.op === 'const') data[0] = n.attrs.value as number;
  else if (n.op === 'iota') {
    const ax = n.attrs.axis as number;
    forEach(t.shape, (idx, k) => (data[k] = idx[ax]));
  } else throw new Error(`reference: unsupported leaf ${n.op}`);
  return { data, err: t.dtype === 'f32' ? data.map(Math.abs) : new Float64Array(data.length) };
}

const MOVEMENT = new Set(['reshape', 'permute', 'expand', 'slice', 'pad', 'concat', 'detach']);

function evalNode(n: Node, ins: readonly RefValue[], rel: number): RefValue[] {
  if (n.op === 'const' || n.op === 'iota') return [leaf(n)];
  if (MOVEMENT.has(n.op)) return [movement(n, ins)];
  if (n.op === 'sum' || n.op === 'max') return [reduce(n, ins)];
  if (n.op === 'dot') return [dot(n, ins)];
  if (n.op === 'cast') return [cast(n, ins, rel)];
  if (n.op === 'gather') return [gather(n, ins)];
  if (n.op === 'vjp') return vjpNode(n, ins, rel);
  if (n.inputs.length >= 1 && n.inputs.length <= 3 && n.types.length === 1) return [elementwise(n, ins, rel)];
  throw new Error(`reference: unsupported op ${n.op}`);
}

function run(g: Graph, inputs: readonly RefValue[], rel: number): Map<Value, RefValue> {
  const env = new Map<Value, RefValue>();
  g.params.forEach((p, i) => env.set(p.out, inputs[i]));
  for (const n of g.nodes) {
    const outs = evalNode(
      n,
      n.inputs.map((v) => env.get(v)!),
      rel,
    );
    n.outs.forEach((v, i) => env.set(v, outs[i]));
  }
  return env;
}

/** Float64 input values: float32 data has error scale |x| (one rounding), integers 0. */
export function refInput(dtype: string, values: ArrayLike<number>): RefValue {
  const data = Float64Array.from(values);
  return { data, err: dtype === 'f32' ? data.map(Math.abs) : new Float64Array(data.length) };
}

/** Evaluates a graph's outputs on the given parameter values. */
export function evaluate(g: Graph, inputs: readonly ArrayLike<number>[], rel = DEFAULT_REL): RefValue[] {
  const env = run(
    g,
    g.params.map((p, i) => refInput(p.types[0].dtype, inputs[i])),
    rel,
  );
  return g.outputs.map((v) => env.get(v)!);
}

/**
 * The largest magnitude that any int32 value of `g` reaches on these inputs
 * before wrapping: results, products, and bounds on reduction and dot
 * partial sums (sum of |terms|). Wrap-around happened iff it is >= 2^31.
 */
export function int32Peak(g: Graph, inputs: readonly ArrayLike<number>[]): number {
  intPeak = 0;
  evaluate(g, inputs);
  return intPeak;
}

// ---------------------------------------------------------------- reverse mode

type Ct = { data: Float64Array; err: Float64Array };

/**
 * Cotangents of a node's inputs from its output's cotangent `g` (data, and
 * error scale: |partial| * g.err + |g| * the partial's own error scale).
 */
function vjpRule(n: Node, x: readonly RefValue[], y: RefValue, g: Ct, rel: number): (Ct | null)[] {
  const zero = (v: Value): Ct => ({ data: new Float64Array(prod(v.shape)), err: new Float64Array(prod(v.shape)) });
  const cts = n.inputs.map(zero);
  const add = (j: number, i: number, v: number, e: number) => {
    cts[j].data[i] += v;
    cts[j].err[i] += e;
  };
  const op = n.op;
  if (['sign', 'not', 'and', 'or', 'detach', 'iota', 'const', ...Object.keys(COMPARE)].includes(op))
    return n.inputs.map(() => null);
  if (op === 'cast') return [n.inputs[0].dtype === 'f32' && n.types[0].dtype === 'f32' ? g : null];
  if (op === 'gather') {
    // Scatter-add: every output element's cotangent goes to the element it read (duplicates sum).
    const pos = gatherMap(n, x[1]);
    const dx = cts[0];
    const axis = n.attrs.axis as number;
    const len = n.inputs[0].shape[axis];
    const stride = strides(n.inputs[0].shape)[axis];
    for (let k = 0; k < pos.length; k++) {
      const p = pos[k];
      dx.data[p] += g.data[k];
      dx.err[p] += g.err[k] + Math.abs(dx.data[p]); // one rounding per addition
      if (x[1].err[k] > 0) {
        // A fragile index may send this cotangent anywhere along the axis.
        const first = p - (Math.floor(p / stride) % len) * stride;
        for (let i = 0; i < len; i++) dx.err[first + i * stride] = Infinity;
      }
    }
    return [cts[0], null];
  }
  if (MOVEMENT.has(op)) {
    const [src, pos] = movementMap(n);
    for (let k = 0; k < src.length; k++) if (src[k] >= 0) add(src[k], pos[k], g.data[k], g.err[k]);
    return cts;
  }
  if (op === 'sum' || op === 'max') {
    const map = reduceMap(n);
    const count = new Float64Array(y.data.length);
    const fragile = new Uint8Array(y.data.length);
    for (let i = 0; i < map.length; i++) {
      const o = map[i];
      if (op === 'sum' || x[0].data[i] === y.data[o]) count[o]++;
      else if (nearTie(x[0].data[i], y.data[o], x[0].err[i], y.err[o], rel)) fragile[o] = 1;
    }
    for (let i = 0; i < map.length; i++) {
      const o = map[i];
      if (op === 'sum') add(0, i, g.data[o], g.err[o]);
      else if (fragile[o]) add(0, i, 0, Infinity);
      else if (x[0].data[i] === y.data[o]) add(0, i, g.data[o] / count[o], (g.err[o] + Math.abs(g.data[o])) / count[o]);
    }
    return cts;
  }
  if (op === 'dot') {
    const { r, ia, ib } = dotTriples(n);
    const [a, b] = x;
    // Each lhs (rhs) element's cotangent sums r.length / a.size (b.size) terms.
    const [na, nb] = [r.length / a.data.length, r.length / b.data.length];
    for (let t = 0; t < r.length; t++) {
      const [gv, ge] = [g.data[r[t]], g.err[r[t]]];
      const [av, bv] = [a.data[ia[t]], b.data[ib[t]]];
      add(0, ia[t], gv * bv, scale(Math.abs(bv), ge) + scale(Math.abs(gv), b.err[ib[t]]) + na * Math.abs(gv * bv));
      add(1, ib[t], gv * av, scale(Math.abs(av), ge) + scale(Math.abs(gv), a.err[ia[t]]) + nb * Math.abs(gv * av));
    }
    return cts;
  }
  // elementwise f32 (where, unary, binary), 0-d operands accumulate
  const types = n.inputs.map((v) => v.type);
  for (let k = 0; k < g.data.length; k++) {
    const xi = x.map((v, j) => v.data[at(types, j, k)]);
    const mi = x.map((v, j) => v.err[at(types, j, k)]);
    const [gv, ge] = [g.data[k], g.err[k]];
    let d: number[];
    let dd: number[];
    if (op === 'where') {
      d = [0, xi[0] ? 1 : 0, xi[0] ? 0 : 1];
      dd = [0, 0, 0].map(() => (mi[0] === Infinity ? Infinity : 0));
    } else {
      ({ d, dd } = partials(op, xi, y.data[k], mi));
      if (op === 'abs' && nearTie(xi[0], 0, mi[0], 0, rel)) dd = [Infinity];
      if ((op === 'maximum' || op === 'minimum') && nearTie(xi[0], xi[1], mi[0], mi[1], rel)) dd = [Infinity, Infinity];
    }
    for (let j = 0; j < xi.length; j++) {
      if (n.inputs[j].dtype !== 'f32') continue;
      add(
        j,
        at(types, j, k),
        gv * d[j],
        scale(Math.abs(d[j]), ge) + scale(Math.abs(gv), dd[j]) + (dd[j] === Infinity ? Infinity : 0),
      );
    }
  }
  // A 0-d operand sums its cotangent over the whole output.
  types.forEach((t, j) => {
    if (t.shape.length === 0 && g.data.length > 1) cts[j].err[0] += (g.data.length - 1) * Math.abs(cts[j].data[0]);
  });
  return cts;
}

/** Reverse mode over a body graph: the wrt parameters' cotangents for the outputs' cotangents. */
export function reverse(
  body: Graph,
  primals: readonly RefValue[],
  cts: readonly RefValue[],
  wrt: readonly number[],
  rel = DEFAULT_REL,
): { outputs: RefValue[]; grads: RefValue[] } {
  const env = run(body, primals, rel);
  const ct = new Map<Value, Ct>();
  const accumulate = (v: Value, c: Ct) => {
    const prev = ct.get(v);
    if (!prev) ct.set(v, { data: Float64Array.from(c.data), err: Float64Array.from(c.err) });
    else
      for (let i = 0; i < c.data.length; i++) {
        prev.data[i] += c.data[i];
        prev.err[i] += c.err[i] + Math.abs(prev.data[i]); // one rounding per addition
      }
  };
  body.outputs.forEach((o, i) => {
    if (o.dtype === 'f32') accumulate(o, { data: cts[i].data, err: cts[i].err });
  });
  for (let i = body.nodes.length - 1; i >= 0; i--) {
    const n = body.nodes[i];
    const g = ct.get(n.out);
    if (!g) continue;
    const grads = vjpRule(
      n,
      n.inputs.map((v) => env.get(v)!),
      env.get(n.out)!,
      g,
      rel,
    );
    n.inputs.forEach((v, k) => {
      const gk = grads[k];
      if (gk && v.dtype === 'f32') accumulate(v, gk);
    });
  }
  const grads = wrt.map((w) => {
    const p = body.params[w].out;
    const size = prod(p.shape);
    return ct.get(p) ?? { data: new Float64Array(size), err: new Float64Array(size) };
  });
  return { outputs: body.outputs.map((o) => env.get(o)!), grads };
}

function vjpNode(n: Node, ins: readonly RefValue[], rel: number): RefValue[] {
  const body = n.body!;
  const np = body.params.length;
  const { outputs, grads } = reverse(body, ins.slice(0, np), ins.slice(np), n.attrs.wrt as number[], rel);
  return [...outputs, ...grads];
}

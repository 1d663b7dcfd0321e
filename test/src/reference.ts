/**
 * A small, deliberately naive float64 reference implementation of the tensor
 * operations lazygrad exposes, used to check the library's numbers.
 *
 * Arrays are `{shape, data: Float64Array}` in row-major order. Booleans are
 * stored as 0/1. Everything follows numpy semantics.
 */

export interface ND {
  shape: number[];
  data: Float64Array;
}

// ---------------------------------------------------------------- basics

export function prod(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d];
    idx[d] = n === 0 ? 0 : i % n;
    i = n === 0 ? 0 : Math.floor(i / n);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let off = 0;
  for (let d = 0; d < shape.length; d++) off = off * shape[d] + idx[d];
  return off;
}

export function nd(shape: readonly number[], data?: ArrayLike<number> | ((i: number) => number)): ND {
  const n = prod(shape);
  const out = new Float64Array(n);
  if (typeof data === 'function') for (let i = 0; i < n; i++) out[i] = data(i);
  else if (data) {
    if (data.length !== n) throw new Error(`reference nd: ${data.length} values for shape [${shape}]`);
    for (let i = 0; i < n; i++) out[i] = Number(data[i]);
  }
  return { shape: [...shape], data: out };
}

export function scalar(v: number): ND {
  return nd([], [v]);
}

export function fromNested(x: unknown): ND {
  const shape: number[] = [];
  let cur: unknown = x;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  const data: number[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth === shape.length) {
      data.push(typeof v === 'boolean' ? (v ? 1 : 0) : Number(v));
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw new Error('reference fromNested: ragged');
    for (const e of v) walk(e, depth + 1);
  };
  walk(x, 0);
  return nd(shape, data);
}

export function toNested(a: ND, asBool = false): any {
  const conv = (v: number) => (asBool ? v !== 0 : v);
  if (a.shape.length === 0) return conv(a.data[0]);
  let pos = 0;
  const build = (d: number): any => {
    const out: any[] = [];
    for (let i = 0; i < a.shape[d]; i++) {
      if (d === a.shape.length - 1) out.push(conv(a.data[pos++]));
      else out.push(build(d + 1));
    }
    return out;
  };
  return build(0);
}

export function clone(a: ND): ND {
  return { shape: [...a.shape], data: new Float64Array(a.data) };
}

export function get(a: ND, idx: readonly number[]): number {
  return a.data[ravel(idx, a.shape)];
}

// ---------------------------------------------------------------- broadcasting

export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const n = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(n).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = n - s.length + i;
      const d = s[i];
      if (d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else if (out[o] !== d)
        throw new Error(`reference: cannot broadcast [${shapes.map((x) => x.join(',')).join('] [')}]`);
    }
  }
  return out;
}

export function broadcastTo(a: ND, shape: readonly number[]): ND {
  const bs = broadcastShapes(a.shape, shape);
  if (bs.join(',') !== shape.join(',')) throw new Error(`reference: cannot expand [${a.shape}] to [${shape}]`);
  const off = shape.length - a.shape.length;
  return nd(shape, (i) => {
    const idx = unravel(i, shape)
      .slice(off)
      .map((v, d) => (a.shape[d] === 1 ? 0 : v));
    return a.data[ravel(idx, a.shape)];
  });
}

export const expand = broadcastTo;

export function map(a: ND, f: (x: number) => number): ND {
  return nd(a.shape, (i) => f(a.data[i]));
}

type Operand = ND | number;
const asND = (x: Operand): ND => (typeof x === 'number' ? scalar(x) : x);

export function zip(a: Operand, b: Operand, f: (x: number, y: number) => number): ND {
  const A = asND(a);
  const B = asND(b);
  const shape = broadcastShapes(A.shape, B.shape);
  const ea = broadcastTo(A, shape);
  const eb = broadcastTo(B, shape);
  return nd(shape, (i) => f(ea.data[i], eb.data[i]));
}

export function where(c: Operand, a: Operand, b: Operand): ND {
  const C = asND(c);
  const A = asND(a);
  const B = asND(b);
  const shape = broadcastShapes(C.shape, A.shape, B.shape);
  const ec = broadcastTo(C, shape);
  const ea = broadcastTo(A, shape);
  const eb = broadcastTo(B, shape);
  return nd(shape, (i) => (ec.data[i] !== 0 ? ea.data[i] : eb.data[i]));
}

// ---------------------------------------------------------------- elementwise

export const add = (a: Operand, b: Operand) => zip(a, b, (x, y) => x + y);
export const sub = (a: Operand, b: Operand) => zip(a, b, (x, y) => x - y);
export const mul = (a: Operand, b: Operand) => zip(a, b, (x, y) => x * y);
export const div = (a: Operand, b: Operand) => zip(a, b, (x, y) => x / y);
export const pow = (a: Operand, b: Operand) => zip(a, b, (x, y) => Math.pow(x, y));
export const maximum = (a: Operand, b: Operand) => zip(a, b, (x, y) => Math.max(x, y));
export const minimum = (a: Operand, b: Operand) => zip(a, b, (x, y) => Math.min(x, y));
export const lt = (a: Operand, b: Operand) => zip(a, b, (x, y) => (x < y ? 1 : 0));
export const le = (a: Operand, b: Operand) => zip(a, b, (x, y) => (x <= y ? 1 : 0));
export const gt = (a: Operand, b: Operand) => zip(a, b, (x, y) => (x > y ? 1 : 0));
export const ge = (a: Operand, b: Operand) => zip(a, b, (x, y) => (x >= y ? 1 : 0));
export const eq = (a: Operand, b: Operand) => zip(a, b, (x, y) => (x === y ? 1 : 0));
export const ne = (a: Operand, b: Operand) => zip(a, b, (x, y) => (x !== y ? 1 : 0));

// int32 arithmetic (wrapping)
export const addI = (a: Operand, b: Operand) => zip(a, b, (x, y) => (x + y) | 0);
export const subI = (a: Operand, b: Operand) => zip(a, b, (x, y) => (x - y) | 0);
export const mulI = (a: Operand, b: Operand) => zip(a, b, (x, y) => Math.imul(x, y));

export const sigmoidScalar = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export const unaryFns: Record<string, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: sigmoidScalar,
  relu: (x) => (x > 0 ? x : 0),
  abs: Math.abs,
};

export function castTo(a: ND, dtype: 'float32' | 'int32' | 'bool'): ND {
  if (dtype === 'float32') return map(a, Math.fround);
  if (dtype === 'int32') return map(a, (x) => Math.trunc(x) | 0);
  return map(a, (x) => (x !== 0 ? 1 : 0));
}

export const f32 = (a: ND) => map(a, Math.fround);

// ---------------------------------------------------------------- reductions

export function normAxis(axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim)
    throw new Error(`reference: bad axis ${axis} for rank ${ndim}`);
  return axis < 0 ? axis + ndim : axis;
}

export function normAxes(axis: number | number[] | undefined, ndim: number): number[] {
  if (axis === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = Array.isArray(axis) ? axis : [axis];
  return [...new Set(list.map((a) => normAxis(a, ndim)))].sort((x, y) => x - y);
}

export function reduce(
  a: ND,
  axis: number | number[] | undefined,
  keepdims: boolean,
  init: number,
  f: (acc: number, x: number) => number,
): ND {
  const axes = normAxes(axis, a.shape.length);
  const keptShape = a.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(prod(keptShape)).fill(init);
  for (let i = 0; i < a.data.length; i++) {
    const idx = unravel(i, a.shape).map((v, d) => (axes.includes(d) ? 0 : v));
    const o = ravel(idx, keptShape);
    out[o] = f(out[o], a.data[i]);
  }
  const shape = keepdims ? keptShape : a.shape.filter((_, i) => !axes.includes(i));
  return { shape, data: out };
}

export const sum = (a: ND, axis?: number | number[], keepdims = false) => reduce(a, axis, keepdims, 0, (s, x) => s + x);
export const max = (a: ND, axis?: number | number[], keepdims = false) =>
  reduce(a, axis, keepdims, -Infinity, Math.max);
export const min = (a: ND, axis?: number | number[], keepdims = false) => reduce(a, axis, keepdims, Infinity, Math.min);
export function mean(a: ND, axis?: number | number[], keepdims = false): ND {
  const axes = normAxes(axis, a.shape.length);
  const count = prod(axes.map((d) => a.shape[d]));
  return map(sum(a, axis, keepdims), (s) => s / count);
}

/** int32 sum with wrap-around. */
export const sumI = (a: ND, axis?: number | number[], keepdims = false) =>
  reduce(a, axis, keepdims, 0, (s, x) => (s + x) | 0);

export function argmax(a: ND, axis: number): ND {
  const ax = normAxis(axis, a.shape.length);
  const outShape = a.shape.filter((_, i) => i !== ax);
  return nd(outShape, (o) => {
    const oi = unravel(o, outShape);
    let best = -Infinity;
    let bi = 0;
    for (let k = 0; k < a.shape[ax]; k++) {
      const idx = [...oi.slice(0, ax), k, ...oi.slice(ax)];
      const v = get(a, idx);
      if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
        best = v;
        bi = k;
      }
    }
    return bi;
  });
}

export function softmax(a: ND, axis = -1): ND {
  const m = max(a, axis, true);
  const e = map(sub(a, m), Math.exp);
  return div(e, sum(e, axis, true));
}

export function logSoftmax(a: ND, axis = -1): ND {
  const m = max(a, axis, true);
  const s = sub(a, m);
  const lse = map(sum(map(s, Math.exp), axis, true), Math.log);
  return sub(s, lse);
}

export function logsumexp(a: ND, axis: number | number[], keepdims = false): ND {
  const m = max(a, axis, true);
  const r = add(map(sum(map(sub(a, m), Math.exp), axis, true), Math.log), m);
  if (keepdims) return r;
  const axes = normAxes(axis, a.shape.length);
  return { shape: a.shape.filter((_, i) => !axes.includes(i)), data: r.data };
}

// ---------------------------------------------------------------- movement

export function reshape(a: ND, shape: readonly number[]): ND {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) s[neg] = prod(a.shape) / prod(s.filter((d) => d !== -1));
  if (prod(s) !== prod(a.shape)) throw new Error('reference reshape: bad size');
  return { shape: s, data: new Float64Array(a.data) };
}

export function transpose(a: ND, perm?: readonly number[]): ND {
  const p = perm ? perm.map((x) => normAxis(x, a.shape.length)) : a.shape.map((_, i) => a.shape.length - 1 - i);
  const shape = p.map((d) => a.shape[d]);
  return nd(shape, (i) => {
    const oi = unravel(i, shape);
    const ii = new Array<number>(a.shape.length);
    p.forEach((d, k) => (ii[d] = oi[k]));
    return get(a, ii);
  });
}

export function squeeze(a: ND, axis?: number): ND {
  if (axis === undefined) return { shape: a.shape.filter((d) => d !== 1), data: new Float64Array(a.data) };
  const ax = normAxis(axis, a.shape.length);
  if (a.shape[ax] !== 1) throw new Error('reference squeeze: not 1');
  return { shape: a.shape.filter((_, i) => i !== ax), data: new Float64Array(a.data) };
}

export function unsqueeze(a: ND, axis: number): ND {
  const ax = normAxis(axis, a.shape.length + 1);
  const shape = [...a.shape];
  shape.splice(ax, 0, 1);
  return { shape, data: new Float64Array(a.data) };
}

/** numpy's slice.indices(n): normalised [start, stop, step] and the resulting length. */
export function sliceIndices(start: number, stop: number, step: number, n: number): [number, number, number, number] {
  if (step === 0) throw new Error('reference slice: step 0');
  const lower = step < 0 ? -1 : 0;
  const upper = step < 0 ? n - 1 : n;
  const fix = (v: number) => {
    if (v < 0) {
      v += n;
      if (v < lower) v = lower;
    } else if (v > upper) v = upper;
    return v;
  };
  const s = fix(start);
  const e = fix(stop);
  let len: number;
  if (step > 0) len = e > s ? Math.ceil((e - s) / step) : 0;
  else len = s > e ? Math.ceil((s - e) / -step) : 0;
  return [s, e, step, len];
}

export function slice(a: ND, starts: readonly number[], ends: readonly number[], steps?: readonly number[]): ND {
  const info = a.shape.map((n, d) => sliceIndices(starts[d], ends[d], steps ? steps[d] : 1, n));
  const shape = info.map((x) => x[3]);
  return nd(shape, (i) => {
    const oi = unravel(i, shape);
    return get(
      a,
      oi.map((v, d) => info[d][0] + v * info[d][2]),
    );
  });
}

export function pad(a: ND, pads: readonly (readonly [number, number])[], value = 0): ND {
  const shape = a.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  return nd(shape, (i) => {
    const oi = unravel(i, shape);
    const ii = oi.map((v, d) => v - pads[d][0]);
    if (ii.some((v, d) => v < 0 || v >= a.shape[d])) return value;
    return get(a, ii);
  });
}

export function concat(arrs: readonly ND[], axis: number): ND {
  const ax = normAxis(axis, arrs[0].shape.length);
  const shape = [...arrs[0].shape];
  shape[ax] = arrs.reduce((s, x) => s + x.shape[ax], 0);
  return nd(shape, (i) => {
    const oi = unravel(i, shape);
    let k = oi[ax];
    for (const x of arrs) {
      if (k < x.shape[ax]) {
        const ii = [...oi];
        ii[ax] = k;
        return get(x, ii);
      }
      k -= x.shape[ax];
    }
    throw new Error('unreachable');
  });
}

export function stack(arrs: readonly ND[], axis: number): ND {
  const ax = normAxis(axis, arrs[0].shape.length + 1);
  return concat(
    arrs.map((x) => unsqueeze(x, ax)),
    ax,
  );
}

export function flatten(a: ND): ND {
  return { shape: [prod(a.shape)], data: new Float64Array(a.data) };
}

// ---------------------------------------------------------------- linear algebra

export function matmul(a: ND, b: ND): ND {
  if (a.shape.length === 0 || b.shape.length === 0) throw new Error('reference matmul: 0-d operand');
  const aVec = a.shape.length === 1;
  const bVec = b.shape.length === 1;
  const A = aVec ? reshape(a, [1, a.shape[0]]) : a;
  const B = bVec ? reshape(b, [b.shape[0], 1]) : b;
  const M = A.shape[A.shape.length - 2];
  const K = A.shape[A.shape.length - 1];
  const K2 = B.shape[B.shape.length - 2];
  const N = B.shape[B.shape.length - 1];
  if (K !== K2) throw new Error('reference matmul: inner mismatch');
  const batch = broadcastShapes(A.shape.slice(0, -2), B.shape.slice(0, -2));
  const EA = broadcastTo(A, [...batch, M, K]);
  const EB = broadcastTo(B, [...batch, K, N]);
  const nb = prod(batch);
  const out = new Float64Array(nb * M * N);
  for (let bi = 0; bi < nb; bi++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += EA.data[bi * M * K + i * K + k] * EB.data[bi * K * N + k * N + j];
        out[bi * M * N + i * N + j] = s;
      }
  let shape = [...batch, M, N];
  if (aVec) shape = [...batch, N];
  if (bVec) shape = aVec ? [...batch] : [...batch, M];
  return { shape, data: out };
}

export function eye(n: number): ND {
  return nd([n, n], (i) => (Math.floor(i / n) === i % n ? 1 : 0));
}

export function oneHot(idx: ND, depth: number): ND {
  const shape = [...idx.shape, depth];
  return nd(shape, (i) => (idx.data[Math.floor(i / depth)] === i % depth ? 1 : 0));
}

// ---------------------------------------------------------------- conv / pool

export function outSize(n: number, k: number, stride: number, padding: number): number {
  return Math.floor((n + 2 * padding - k) / stride) + 1;
}

/** x [N,C,H,W], w [O,C,kh,kw]: cross-correlation with symmetric zero padding. */
export function conv2d(x: ND, w: ND, stride = 1, padding = 0): ND {
  const [N, C, H, W] = x.shape;
  const [O, C2, KH, KW] = w.shape;
  if (C !== C2) throw new Error('reference conv2d: channel mismatch');
  const OH = outSize(H, KH, stride, padding);
  const OW = outSize(W, KW, stride, padding);
  const shape = [N, O, OH, OW];
  return nd(shape, (i) => {
    const [n, o, oh, ow] = unravel(i, shape);
    let s = 0;
    for (let c = 0; c < C; c++)
      for (let ki = 0; ki < KH; ki++)
        for (let kj = 0; kj < KW; kj++) {
          const h = oh * stride - padding + ki;
          const ww = ow * stride - padding + kj;
          if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
          s += get(x, [n, c, h, ww]) * get(w, [o, c, ki, kj]);
        }
    return s;
  });
}

function pool2d(
  x: ND,
  k: number,
  stride: number,
  padding: number,
  padValue: number,
  init: number,
  f: (a: number, b: number) => number,
  fin: (a: number) => number,
): ND {
  const [N, C, H, W] = x.shape;
  const OH = outSize(H, k, stride, padding);
  const OW = outSize(W, k, stride, padding);
  const shape = [N, C, OH, OW];
  return nd(shape, (i) => {
    const [n, c, oh, ow] = unravel(i, shape);
    let acc = init;
    for (let ki = 0; ki < k; ki++)
      for (let kj = 0; kj < k; kj++) {
        const h = oh * stride - padding + ki;
        const w = ow * stride - padding + kj;
        const v = h < 0 || h >= H || w < 0 || w >= W ? padValue : get(x, [n, c, h, w]);
        acc = f(acc, v);
      }
    return fin(acc);
  });
}

/** PyTorch semantics: padding never wins (implicit -inf). */
export function maxPool2d(x: ND, k: number, stride = k, padding = 0): ND {
  return pool2d(x, k, stride, padding, -Infinity, -Infinity, Math.max, (a) => a);
}

/** PyTorch default (count_include_pad=True): padding counts as zeros. */
export function avgPool2d(x: ND, k: number, stride = k, padding = 0): ND {
  return pool2d(
    x,
    k,
    stride,
    padding,
    0,
    0,
    (a, b) => a + b,
    (a) => a / (k * k),
  );
}

// ---------------------------------------------------------------- random inputs

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** splitmix32: another tiny seeded PRNG (the fusion property test's sequence). */
export function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;

/** Seeded choices for random-program generators (`int` includes both bounds). */
export class Draws {
  constructor(readonly r: Rng) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)];
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  shuffle<T>(xs: readonly T[]): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

/** Uniform float32-representable values in [lo, hi). */
export function randND(rng: Rng, shape: readonly number[], lo = -1, hi = 1): ND {
  return nd(shape, () => Math.fround(lo + (hi - lo) * rng()));
}

/** Integers in [lo, hi). */
export function randIntND(rng: Rng, shape: readonly number[], lo: number, hi: number): ND {
  return nd(shape, () => lo + Math.floor((hi - lo) * rng()));
}

export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor((hi - lo) * rng());
}

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)];
}

// ---------------------------------------------------------------- comparison

/** Anything with a shape and a synchronous data read (a lazygrad Tensor). */
export interface TensorLike {
  readonly shape: readonly number[];
  dataSync(): ArrayLike<number | boolean | bigint>;
}

function isTensorLike(x: unknown): x is TensorLike {
  return typeof x === 'object' && x !== null && typeof (x as TensorLike).dataSync === 'function' && 'shape' in x;
}

function isND(x: unknown): x is ND {
  return (
    typeof x === 'object' && x !== null && (x as ND).data instanceof Float64Array && Array.isArray((x as ND).shape)
  );
}

function flat(x: unknown): { shape: number[]; data: number[] } {
  if (isTensorLike(x)) {
    const d = x.dataSync();
    return { shape: [...x.shape], data: Array.from(d as ArrayLike<number>, (v) => Number(v)) };
  }
  if (isND(x)) return { shape: [...x.shape], data: Array.from(x.data) };
  if (typeof x === 'number' || typeof x === 'boolean') return { shape: [], data: [Number(x)] };
  if (ArrayBuffer.isView(x)) {
    const arr = Array.from(x as unknown as ArrayLike<number>, Number);
    return { shape: [arr.length], data: arr };
  }
  const a = fromNested(x);
  return { shape: a.shape, data: Array.from(a.data) };
}

function fmtIdx(i: number, shape: number[]): string {
  return `[${unravel(i, shape).join(',')}]`;
}

/**
 * Compares shape and flattened values: |a - e| <= atol + rtol*|e|, NaN equals
 * NaN, infinities must match exactly. Throws with the first mismatches.
 */
export function expectClose(actual: unknown, expected: unknown, rtol = 1e-5, atol = 1e-6, label = ''): void {
  const A = flat(actual);
  const E = flat(expected);
  const tag = label ? `${label}: ` : '';
  if (A.shape.join(',') !== E.shape.join(',')) {
    throw new Error(`${tag}shape mismatch: got [${A.shape.join(',')}], expected [${E.shape.join(',')}]`);
  }
  if (A.data.length !== E.data.length) {
    throw new Error(
      `${tag}size mismatch: got ${A.data.length} values, expected ${E.data.length} (shape [${E.shape.join(',')}])`,
    );
  }
  const bad: string[] = [];
  let nBad = 0;
  let worst = 0;
  for (let i = 0; i < E.data.length; i++) {
    const a = A.data[i];
    const e = E.data[i];
    let ok: boolean;
    if (Number.isNaN(e)) ok = Number.isNaN(a);
    else if (!Number.isFinite(e)) ok = a === e;
    else ok = Number.isFinite(a) && Math.abs(a - e) <= atol + rtol * Math.abs(e);
    if (!ok) {
      nBad++;
      const err = Math.abs(a - e);
      if (!(err <= worst)) worst = err;
      if (bad.length < 6) bad.push(`  at ${fmtIdx(i, E.shape)}: got ${a}, expected ${e}`);
    }
  }
  if (nBad > 0) {
    throw new Error(
      `${tag}${nBad}/${E.data.length} values differ (shape [${E.shape.join(',')}], rtol=${rtol}, atol=${atol}, worst abs err ${worst}):\n${bad.join('\n')}`,
    );
  }
}

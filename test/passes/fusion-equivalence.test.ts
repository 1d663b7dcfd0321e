/**
 * Property test of fusion: random small graphs of elementwise, broadcast,
 * reduction, movement and `dot` nodes, forward and backward, compiled with
 * fusion on and off through the real pipeline on the current backend
 * (LAZYGRAD_BACKEND: `js`, or `gpujs` in the gpujs project), must both match
 * an independent float64 reference evaluator (./reference-eval.ts). A
 * second sequence is rich in softmax-like rows (a costly value combined with
 * its own broadcast reduction, sometimes read reversed or transposed), the
 * kernels where loop backends use row caches (ir/row-cache.ts); a third has
 * inner axes of 8 to 13 elements (unrolled loops with remainders on js).
 *
 * Tolerance: per element |got - ref| <= TOL * err, where err is the
 * reference's running error scale (reference-eval.ts): |y| plus each input's
 * scale times |partial|, plus (n-1) * sum|terms| for an n-term sum or dot
 * (float32 accumulation), so it grows with reduction length and with
 * cancellation, and for gradients also covers the error of the forward values
 * that the partials are computed from. TOL = 4e-6 (js) is ~67 float32 roundings
 * (2^-24 = 6e-8) per unit of scale; on js the worst case seen is ~0.02 of it,
 * while wrong indexing or a wrong op gives errors of the order of the values
 * themselves. int32 and bool results have scale 0 and must match exactly.
 * Elements that may legitimately differ in float32 (near-ties of
 * comparisons, max, sign and truncating casts; exact ties are kept) are
 * skipped, and their count is asserted to be small. Fused and unfused are
 * each compared with the reference, so they agree with each other to 2*TOL.
 *
 * Inputs keep everything finite: parameters are float32 values in [-2, 2];
 * log and sqrt take abs(x)+0.5, div divides by abs(y)+0.5, exp/expm1 see
 * |x| <= 3, pow is (abs(x)+0.5) ** y with |y| <= 2, and any value whose bound
 * exceeds 8 is rescaled by a power of two (exact). The seed is fixed.
 *
 * gpujs (float32 math on headless GL) runs the first graphs of the same
 * sequence: new kernels compile at ~80 ms each. Graphs whose int32 values
 * (or reduction partial sums) reach 2^24 are skipped and counted: gpujs int32
 * is exact only below that and never wraps (a documented limit). Tolerance
 * there: GL's + - * / sqrt are correctly rounded and its transcendentals a
 * few ulp off (test/backends/gpujs/numerics.test.ts), which the error scale
 * already charges per op. Over 1,000 forward and 250 backward graphs the
 * worst error was 1.8e-7 per unit of scale (~3 roundings; 0.046 of the js TOL), so
 * gpujs compares at about twice that, TOL_GPUJS = 4e-7.
 */
import { appendFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type DType,
  type Graph,
  type KernelPlan,
  type Node,
  type Value,
  constant,
  emit,
  graphFrom,
  makeNode,
  param,
  printGraph,
} from '../../ir';
import { compileGraph, runProgram } from '../../src/compile';
import { backendByName, getBackend } from '../../src/settings';
import { Draws, splitmix32 } from '../src/reference';
import { DEFAULT_REL, evaluate, int32Peak } from './reference-eval';

const BACKEND = getBackend();
const GPUJS = BACKEND === 'gpujs';
const backend = backendByName(BACKEND);

const SEED = 0x5eed_f05e;
// gpujs compiles every new kernel (~80 ms each on headless GL): the first
// graphs of the same seeded sequence only.
const FORWARD_GRAPHS = GPUJS ? 60 : 1000;
const BACKWARD_GRAPHS = GPUJS ? 20 : 250;
const KERNEL_COUNT_GRAPHS = 40;
const ROW_GRAPHS = GPUJS ? 15 : 300;
const WIDE_GRAPHS = GPUJS ? 15 : 300;
const GATHER_GRAPHS = GPUJS ? 15 : 300;
const TOL_GPUJS = 4e-7;
const TOL = GPUJS ? TOL_GPUJS : DEFAULT_REL;
/** gpujs keeps int32 as float32: exact only below 2^24, and no wrap-around. */
const GPUJS_INT_LIMIT = 2 ** 24;
const MAX_SIZE = 64;

// ---------------------------------------------------------------- seeded generator

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

interface Entry {
  readonly v: Value;
  /** Upper bound on |value| (f32 and i32). */
  readonly bound: number;
}

interface Case {
  readonly graph: Graph;
  readonly inputs: Float64Array[];
}

class Gen extends Draws {
  readonly params: Node[] = [];
  readonly inputs: Float64Array[] = [];
  readonly pool: Entry[] = [];

  /**
   * @param rowWeight weight of the `rowwise` family (0 keeps the main sequence as it was).
   * @param wide new shapes end in an axis of 8 to 13 (loop backends unroll such loops, with remainders).
   * @param gatherWeight weight of the `gather` family (0 keeps the other sequences as they were).
   */
  constructor(
    seed: number,
    private readonly rowWeight = 0,
    private readonly wide = false,
    private readonly gatherWeight = 0,
  ) {
    super(splitmix32(seed));
  }

  shape(maxRank = 3, maxSize = 48): number[] {
    if (this.wide) return [...range(this.int(0, 2)).map(() => this.int(1, 3)), this.int(8, 13)];
    for (;;) {
      const s = range(this.int(0, maxRank)).map(() => this.int(1, 4));
      if (prod(s) <= maxSize) return s;
    }
  }

  /** A new float32 parameter with values in [-2, 2] (or small ints). */
  param(shape: readonly number[], dtype: DType = 'f32'): Entry {
    const p = param(dtype, shape);
    this.params.push(p);
    this.inputs.push(
      Float64Array.from(range(prod(shape)), () => (dtype === 'f32' ? Math.fround(this.r() * 4 - 2) : this.int(-5, 5))),
    );
    return { v: p.out, bound: dtype === 'f32' ? 2 : 5 };
  }

  /** Prefers recent values, so graphs grow deep as well as wide. */
  choose(pred: (e: Entry) => boolean): Entry | undefined {
    const ok = this.pool.filter(pred);
    if (!ok.length) return undefined;
    return this.chance(0.6) ? ok[ok.length - 1 - this.int(0, Math.min(2, ok.length - 1))] : this.pick(ok);
  }

  push(v: Value, bound: number): Entry {
    let e: Entry = { v, bound };
    // Keep values small: rescale by a power of two (exact in float32).
    if (v.dtype === 'f32' && bound > 8) {
      const k = Math.ceil(Math.log2(bound / 4));
      e = { v: emit('mul', [v, constant(2 ** -k, 'f32')]), bound: bound * 2 ** -k };
    }
    this.pool.push(e);
    return e;
  }

  dyadic(): number {
    return this.pick([0.5, -1, 1.25, 2, -0.75, 0.125, 3, -1.5]);
  }

  /** A same-shape partner for x: another value, a 0-d constant, a broadcast parameter, or a broadcast reduction of x. */
  partner(x: Entry, reduceFirst = false): Entry {
    const s = x.v.shape;
    const same = this.pool.filter((e) => e.v.dtype === 'f32' && e.v.shape.join() === s.join() && e !== x);
    const c = reduceFirst && s.length ? 1 : this.r();
    if (c < 0.35 && same.length) return this.pick(same);
    if (c < 0.5 || s.length === 0) return { v: constant(this.dyadic(), 'f32'), bound: 3 };
    if (c < 0.8) {
      const small = s.map((d) => (this.chance(0.5) ? 1 : d));
      const p = this.param(small);
      return { v: emit('expand', [p.v], { shape: [...s] }), bound: p.bound };
    }
    const axes = range(s.length).filter(() => this.chance(0.6));
    if (!axes.length) axes.push(this.int(0, s.length - 1));
    const op = this.pick(['max', 'sum']);
    const red = emit(op, [x.v], { axes, keepdims: true });
    const n = prod(axes.map((a) => s[a]));
    return { v: emit('expand', [red], { shape: [...s] }), bound: op === 'max' ? x.bound : x.bound * n };
  }

  f32(): Entry {
    return this.choose((e) => e.v.dtype === 'f32') ?? this.leaf();
  }

  /** A new parameter that later steps may use. */
  leaf(): Entry {
    const e = this.param(this.shape());
    this.pool.push(e);
    return e;
  }

  // ---- op families; each returns false when it does not apply ----

  unary(): boolean {
    const x = this.f32();
    const op = this.pick([
      'neg',
      'abs',
      'sign',
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
    let v = x.v;
    let b = x.bound;
    if (op === 'exp' || op === 'expm1') {
      if (b > 3) {
        const k = Math.ceil(Math.log2(b / 3));
        v = emit('mul', [v, constant(2 ** -k, 'f32')]);
        b = b * 2 ** -k;
      }
      this.push(emit(op, [v]), Math.exp(b));
      return true;
    }
    if (op === 'log' || op === 'sqrt') v = emit('add', [emit('abs', [v]), constant(0.5, 'f32')]);
    if (op === 'log1p') v = emit('abs', [v]);
    const bounds: Record<string, number> = {
      neg: b,
      abs: b,
      sign: 1,
      log: Math.max(Math.log(b + 0.5), 0.7),
      sqrt: Math.sqrt(b + 0.5),
      log1p: Math.log1p(b),
      floor: b + 1,
      ceil: b + 1,
      round: b + 1,
    };
    this.push(emit(op, [v]), bounds[op] ?? 1);
    return true;
  }

  binary(): boolean {
    const x = this.f32();
    const op = this.pick(['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum']);
    // maximum(x, broadcast max(x)) has exact ties whose gradients differ.
    const y = this.partner(x, (op === 'maximum' || op === 'minimum') && this.chance(0.4));
    const [a, b] = this.chance(0.5) || y.v.shape.length === 0 ? [x, y] : [y, x];
    if (op === 'div') {
      this.push(emit('div', [a.v, emit('add', [emit('abs', [b.v]), constant(0.5, 'f32')])]), a.bound * 2);
    } else if (op === 'pow') {
      const base = emit('add', [emit('abs', [a.v]), constant(0.5, 'f32')]);
      const k = Math.max(0, Math.ceil(Math.log2(b.bound / 2)));
      const e = k ? emit('mul', [b.v, constant(2 ** -k, 'f32')]) : b.v;
      this.push(emit('pow', [base, e]), Math.max((a.bound + 0.5) ** 2, 4));
    } else {
      const bound =
        op === 'mul'
          ? a.bound * b.bound
          : op === 'add' || op === 'sub'
            ? a.bound + b.bound
            : Math.max(a.bound, b.bound);
      this.push(emit(op, [a.v, b.v]), bound);
    }
    return true;
  }

  select(): boolean {
    const x = this.f32();
    const y = this.partner(x);
    let c = emit(this.pick(['lt', 'le', 'gt', 'ge', 'eq', 'ne']), [x.v, y.v]);
    if (this.chance(0.3)) c = emit('not', [c]);
    if (this.chance(0.2)) c = emit(this.pick(['and', 'or']), [c, emit('gt', [x.v, constant(0, 'f32')])]);
    if (this.chance(0.25)) {
      this.push(emit('cast', [c], { dtype: 'f32' }), 1);
      return true;
    }
    const z = this.partner(x);
    const [a, b] = this.chance(0.5) ? [x, z] : [z, x];
    this.push(emit('where', [c, a.v, b.v]), Math.max(a.bound, b.bound));
    return true;
  }

  reduce(): boolean {
    const x = this.choose((e) => e.v.shape.length > 0 && e.v.dtype !== 'bool');
    if (!x) return false;
    const s = x.v.shape;
    const axes = this.chance(0.25) ? range(s.length) : range(s.length).filter(() => this.chance(0.5));
    if (!axes.length) axes.push(this.int(0, s.length - 1));
    const op = this.pick(['sum', 'max']);
    const n = prod(axes.map((a) => s[a]));
    this.push(emit(op, [x.v], { axes, keepdims: this.chance(0.4) }), op === 'sum' ? x.bound * n : x.bound);
    return true;
  }

  /**
   * A costly value combined with a reduction of itself broadcast back, as in
   * softmax: mostly over the last axis (the row kernels' row caches).
   */
  rowwise(): boolean {
    const x = this.choose((e) => e.v.shape.length > 0 && e.v.dtype === 'f32');
    if (!x) return false;
    const s = x.v.shape;
    const op = this.pick(['exp', 'tanh', 'sigmoid', 'sin']);
    let v = x.v;
    let b = x.bound;
    if (op === 'exp' && b > 3) {
      const k = Math.ceil(Math.log2(b / 3));
      v = emit('mul', [v, constant(2 ** -k, 'f32')]);
      b *= 2 ** -k;
    }
    const t = emit(op, [v]);
    const tb = op === 'exp' ? Math.exp(b) : 1;
    const last = s.length - 1;
    const axes = this.chance(0.7) ? [last] : range(s.length).filter(() => this.chance(0.5));
    if (!axes.length) axes.push(last);
    const red = this.pick(['sum', 'max']);
    const rb = red === 'sum' ? tb * prod(axes.map((a) => s[a])) : tb;
    const r = emit('expand', [emit(red, [t], { axes, keepdims: true })], { shape: [...s] });
    // Sometimes the same costly values in another order: a row cache must not serve them.
    let num = t;
    const view = this.r();
    if (view < 0.15)
      num = emit('slice', [t], {
        starts: s.map((d, i) => (i === last ? d - 1 : 0)),
        steps: s.map((_, i) => (i === last ? -1 : 1)),
        shape: [...s],
      });
    else if (view < 0.3 && s.length >= 2 && s[last] === s[last - 1])
      num = emit('permute', [t], { perm: [...range(last - 1), last, last - 1] });
    const comb = this.pick(['div', 'mul', 'sub']);
    if (comb === 'div') this.push(emit('div', [num, emit('add', [emit('abs', [r]), constant(0.5, 'f32')])]), tb * 2);
    else this.push(emit(comb, [num, r]), comb === 'mul' ? tb * rb : tb + rb);
    return true;
  }

  /** int32 indices of `shape` into an axis of n: mostly in [-n, n), one in ten beyond it (clamped). */
  indices(shape: readonly number[], n: number): Value {
    const p = param('i32', shape);
    this.params.push(p);
    this.inputs.push(
      Float64Array.from(range(prod(shape)), () => (this.chance(0.1) ? this.int(-3 * n, 3 * n) : this.int(-n, n - 1))),
    );
    return p.out;
  }

  /**
   * gather (take / take_along_axis): per-position indices broadcast over the other axes (an
   * embedding lookup), indices of the full shape, or indices computed from the values themselves
   * (inlined into the indirect load).
   */
  gather(): boolean {
    const x = this.choose((e) => e.v.shape.length > 0 && e.v.dtype !== 'bool');
    if (!x) return false;
    const s = x.v.shape;
    const axis = this.int(0, s.length - 1);
    const n = s[axis];
    const c = this.r();
    let idx: Value;
    if (c < 0.4) {
      const m = this.int(1, 5);
      const along = this.indices(
        s.map((_, i) => (i === axis ? m : 1)),
        n,
      );
      idx = emit('expand', [along], { shape: s.map((d, i) => (i === axis ? m : d)) });
    } else if (c < 0.75)
      idx = this.indices(
        s.map((d, i) => (i === axis ? this.int(1, 5) : d)),
        n,
      );
    else idx = x.v.dtype === 'i32' ? x.v : emit('cast', [emit('mul', [x.v, constant(1.5, 'f32')])], { dtype: 'i32' });
    if (prod(idx.shape) > MAX_SIZE) return false;
    this.push(emit('gather', [x.v, idx], { axis }), x.bound);
    return true;
  }

  /** A random factorisation of n into up to 4 dims (1s included). */
  factor(n: number): number[] {
    const dims: number[] = [];
    let rest = n;
    while (rest > 1 && dims.length < 3) {
      const divs = range(rest)
        .map((i) => i + 1)
        .filter((d) => rest % d === 0 && d > 1);
      const d = this.pick(divs);
      dims.push(d);
      rest /= d;
    }
    if (rest > 1) dims.push(rest);
    if (dims.length < 4 && this.chance(0.3)) dims.splice(this.int(0, dims.length), 0, 1);
    return this.shuffle(dims);
  }

  movement(): boolean {
    const x = this.choose((e) => e.v.dtype !== 'bool') ?? this.f32();
    const s = x.v.shape;
    const kind = this.pick(['reshape', 'permute', 'expand', 'slice', 'slice', 'pad', 'concat']);
    const pushAs = (v: Value) => this.push(v, x.bound);
    if (kind === 'reshape') pushAs(emit('reshape', [x.v], { shape: this.factor(prod(s)) }));
    else if (kind === 'permute') {
      if (s.length < 2) return false;
      pushAs(emit('permute', [x.v], { perm: this.shuffle(range(s.length)) }));
    } else if (kind === 'expand') {
      let v = x.v;
      if (!s.includes(1)) {
        if (s.length >= 4) return false;
        const at = this.int(0, s.length);
        v = emit('reshape', [v], { shape: [...s.slice(0, at), 1, ...s.slice(at)] });
      }
      const grow = v.shape.map((d) => (d === 1 ? this.int(1, 4) : d));
      if (prod(grow) > MAX_SIZE) return false;
      pushAs(emit('expand', [v], { shape: grow }));
    } else if (kind === 'slice') {
      if (!s.length) return false;
      const steps = s.map(() => this.pick([1, 1, 2, -1, -2, 3]));
      const shape = s.map((d, i) => this.int(1, Math.floor((d - 1) / Math.abs(steps[i])) + 1));
      const starts = s.map((d, i) => {
        const span = (shape[i] - 1) * Math.abs(steps[i]);
        return steps[i] > 0 ? this.int(0, d - 1 - span) : this.int(span, d - 1);
      });
      pushAs(emit('slice', [x.v], { starts, steps, shape }));
    } else if (kind === 'pad') {
      const pads = s.map(() => [this.int(0, 2), this.int(0, 1)]);
      if (!s.length || prod(s.map((d, i) => d + pads[i][0] + pads[i][1])) > MAX_SIZE) return false;
      const value = x.v.dtype === 'i32' ? this.int(-3, 3) : this.dyadic();
      this.push(emit('pad', [x.v], { pads, value }), Math.max(x.bound, Math.abs(value)));
    } else {
      if (!s.length) return false;
      const axis = this.int(0, s.length - 1);
      const parts = [x];
      for (let k = this.int(1, 2); k > 0; k--) {
        const other = this.pool.filter(
          (e) =>
            e.v.dtype === x.v.dtype &&
            e.v.shape.length === s.length &&
            e.v.shape.every((d, i) => i === axis || d === s[i]),
        );
        if (x.v.dtype === 'f32' && this.chance(0.4))
          parts.push(this.param(s.map((d, i) => (i === axis ? this.int(1, 3) : d))));
        else parts.push(this.pick(other.length ? other : [x]));
      }
      const total = parts.reduce((a, p) => a + p.v.shape[axis], 0);
      if ((prod(s) / s[axis]) * total > MAX_SIZE) return false;
      this.push(
        emit(
          'concat',
          this.shuffle(parts).map((p) => p.v),
          { axis },
        ),
        Math.max(...parts.map((p) => p.bound)),
      );
    }
    return true;
  }

  dot(): boolean {
    const x = this.choose((e) => e.v.dtype === 'f32' && e.v.shape.length > 0) ?? this.param(this.shape(3, 24));
    const s = x.v.shape;
    const axes = this.shuffle(range(s.length));
    const nb = s.length > 1 && this.chance(0.4) ? this.int(1, s.length - 1 > 1 && this.chance(0.4) ? 2 : 1) : 0;
    const lb = axes.slice(0, nb);
    const lc = axes.slice(nb, nb + this.int(s.length - nb > 1 ? 1 : 0, Math.min(2, s.length - nb)));
    const free = range(this.int(0, 2)).map(() => this.int(1, 4));
    const outSize =
      prod(lb.map((a) => s[a])) * prod(s.filter((_, i) => !lb.includes(i) && !lc.includes(i))) * prod(free);
    if (outSize > MAX_SIZE || prod(s) * prod(free) > 256) return false;
    // rhs axes: batch, contracted and free ones in a random order.
    const roles = this.shuffle([
      ...lb.map((a) => ['b', a]),
      ...lc.map((a) => ['c', a]),
      ...free.map((d) => ['f', d]),
    ] as [string, number][]);
    const rshape = roles.map(([k, v]) => (k === 'f' ? v : s[v]));
    const selfDot = free.length === 0 && this.chance(0.3);
    const y = selfDot ? x : this.chance(0.7) ? this.param(rshape) : undefined;
    let yv: Value;
    let yb: number;
    if (selfDot) {
      // x with itself: rhs axes are x's own axes.
      yv = x.v;
      yb = x.bound;
      const batch = [lb, lb];
      const contract = [lc, this.shuffle(lc)];
      if (contract[1].some((a, i) => s[a] !== s[lc[i]])) contract[1] = lc;
      this.push(emit('dot', [x.v, yv], { batch, contract }), x.bound * yb * prod(lc.map((a) => s[a])));
      return true;
    }
    if (y) {
      yv = y.v;
      yb = y.bound;
    } else {
      // A transformed value as the rhs: tanh of a parameter.
      const p = this.param(rshape);
      yv = emit('tanh', [p.v]);
      yb = 1;
    }
    const batch = [lb, lb.map((a) => roles.findIndex(([k, v]) => k === 'b' && v === a))];
    const contract = [lc, lc.map((a) => roles.findIndex(([k, v]) => k === 'c' && v === a))];
    const [lhs, rhs, at] = this.chance(0.5) ? [x.v, yv, batch] : [yv, x.v, undefined];
    const attrs = at ? { batch, contract } : { batch: [batch[1], batch[0]], contract: [contract[1], contract[0]] };
    this.push(emit('dot', [lhs, rhs], attrs), x.bound * yb * prod(lc.map((a) => s[a])));
    return true;
  }

  /**
   * A dot big enough for the js backend's register-tiled kernel (both output
   * axes >= 16), float32 or int32 with wrapping products, with a prologue.
   */
  bigDot(withInt: boolean): boolean {
    const [m, n, k] = [this.int(16, 18), this.int(16, 18), this.int(2, 4)];
    const int = withInt && this.chance(0.4);
    const a = this.param([m, k], int ? 'i32' : 'f32');
    const b = this.param([k, n], int ? 'i32' : 'f32');
    // int32: large factors, so sums of products wrap (and may pass 2^53 before wrapping).
    const big = () => constant(this.pick([65537, 1_000_003, -2_147_483_647]), 'i32');
    const av = int ? emit('mul', [a.v, big()]) : this.chance(0.7) ? emit('tanh', [a.v]) : a.v;
    const bv = int ? (this.chance(0.5) ? emit('mul', [b.v, big()]) : b.v) : this.chance(0.5) ? emit('sin', [b.v]) : b.v;
    const d = emit('dot', [av, bv], { batch: [[], []], contract: [[1], [0]] });
    if (int) this.pool.push({ v: d, bound: 2 ** 31 });
    this.push(int ? emit('cast', [d], { dtype: 'f32' }) : d, int ? 2 ** 31 : 2 * 2 * k);
    return true;
  }

  /** int32: truncating cast or iota, wrapping arithmetic, reductions, and back to float32. */
  integer(): boolean {
    const x = this.f32();
    let i: Entry;
    if (this.chance(0.5) && x.v.shape.length)
      i = { v: emit('iota', [], { shape: [...x.v.shape], axis: this.int(0, x.v.shape.length - 1) }), bound: 4 };
    else i = { v: emit('cast', [emit('mul', [x.v, constant(2.5, 'f32')])], { dtype: 'i32' }), bound: x.bound * 2.5 };
    for (let k = this.int(1, 3); k > 0; k--) {
      const c = this.r();
      if (c < 0.25) {
        // Large factors make the products wrap (Math.imul semantics).
        const big = this.pick([3, -7, 65537, 1_000_003, 2_147_483_647]);
        i = { v: emit('mul', [i.v, constant(big, 'i32')]), bound: 2 ** 31 };
      } else if (c < 0.35)
        i = { v: emit('mul', [i.v, i.v]), bound: 2 ** 31 }; // beyond 2^53 before wrapping
      else if (c < 0.5)
        i = {
          v: emit(this.pick(['add', 'sub', 'maximum', 'minimum']), [
            i.v,
            constant(this.int(-9, 9) * (this.chance(0.3) ? 200_000_000 : 1), 'i32'),
          ]),
          bound: 2 ** 31,
        };
      else if (c < 0.65) i = { v: emit(this.pick(['neg', 'abs', 'sign']), [i.v]), bound: i.bound };
      else if (c < 0.8 && i.v.shape.length) {
        const axes = range(i.v.shape.length).filter(() => this.chance(0.5));
        if (!axes.length) axes.push(0);
        i = { v: emit(this.pick(['sum', 'max']), [i.v], { axes, keepdims: this.chance(0.5) }), bound: 2 ** 31 };
      } else {
        const j = this.pool.find((e) => e.v.dtype === 'i32' && e.v.shape.join() === i.v.shape.join());
        if (j) i = { v: emit(this.pick(['add', 'mul', 'sub']), [i.v, j.v]), bound: 2 ** 31 };
      }
    }
    if (this.chance(0.3)) this.pool.push(i);
    this.push(emit('cast', [i.v], { dtype: 'f32' }), Math.min(i.bound, 2 ** 31));
    return true;
  }

  build(name: string, steps: number, withInt = true): Case {
    this.leaf();
    const families: [() => boolean, number][] = [
      [() => this.unary(), 3],
      [() => this.binary(), 3],
      [() => this.select(), 1],
      [() => this.reduce(), 2],
      [() => this.movement(), 3],
      [() => this.dot(), 1.5],
      [() => this.bigDot(withInt), 0.15],
      [() => this.integer(), withInt ? 0.7 : 0],
      [() => this.rowwise(), this.rowWeight],
      [() => this.gather(), this.gatherWeight],
    ];
    const total = families.reduce((a, f) => a + f[1], 0);
    for (let done = 0; done < steps;) {
      let c = this.r() * total;
      const fam = families.find((f) => (c -= f[1]) < 0) ?? families[0];
      if (fam[0]()) done++;
    }
    const computed = this.pool.filter((e) => e.v.node.op !== 'param');
    const outs = [computed[computed.length - 1].v];
    if (this.chance(0.3) && computed.length > 2) outs.push(this.pick(computed.slice(0, -1)).v);
    return { graph: graphFrom(name, this.params, outs, false), inputs: this.inputs };
  }
}

function randomCase(seed: number, withInt = true, rowWeight = 0, wide = false, gatherWeight = 0): Case {
  const gen = new Gen(seed, rowWeight, wide, gatherWeight);
  return gen.build(`g${seed}`, gen.int(2, 10), withInt);
}

// ---------------------------------------------------------------- running and comparing

/**
 * Every output and temporary is written in full by one kernel before it is
 * read: the js backend relies on it to skip zero-filling outputs.
 */
function checkWrites(plan: KernelPlan): void {
  plan.buffers.forEach((b) => {
    if (b.role === 'input' || b.role === 'capture') return;
    const writers = plan.kernels.filter((k) => k.outputs.some((o) => o.buffer === b.id));
    expect(writers.length, `buffer b${b.id}`).toBe(1);
    expect(
      writers[0].shape.reduce((a, d) => a * d, 1),
      `buffer b${b.id}`,
    ).toBe(b.size);
    const first = plan.kernels.indexOf(writers[0]);
    for (const k of plan.kernels.slice(0, first))
      expect(k.inputs, `buffer b${b.id} read before it is written`).not.toContain(b.id);
  });
}

function runCompiled(g: Graph, inputs: readonly Float64Array[], fusion: boolean): ArrayLike<number>[] {
  const prog = compileGraph(g, { backend, fusion });
  checkWrites(prog.plan);
  const bufs = g.params.map((p, i) => backend.upload(p.types[0].dtype, inputs[i]));
  const outs = runProgram(prog, g, bufs, () => {
    throw new Error('no captured buffers in these graphs');
  });
  const res = outs.map((b) => backend.download(b));
  for (const b of [...bufs, ...outs]) backend.free(b);
  return res;
}

interface Stats {
  elements: number;
  skipped: number;
  worst: number;
  where?: string;
}

/** First mismatch of got vs the reference, or undefined. */
function compare(
  g: Graph,
  got: readonly ArrayLike<number>[],
  ref: ReturnType<typeof evaluate>,
  stats: Stats,
): string | undefined {
  for (let o = 0; o < ref.length; o++) {
    const { data, err } = ref[o];
    if (got[o].length !== data.length) return `output ${o}: ${got[o].length} elements, expected ${data.length}`;
    for (let i = 0; i < data.length; i++) {
      stats.elements++;
      if (err[i] === Infinity) {
        stats.skipped++;
        continue;
      }
      const diff = Math.abs(got[o][i] - data[i]);
      const tol = TOL * err[i] + 1e-30;
      if (err[i] > 0 && diff / (TOL * err[i]) > stats.worst) {
        stats.worst = diff / (TOL * err[i]);
        if (process.env.FUSION_EQ_LOG)
          stats.where = `${g.name} out ${o} el ${i} got ${got[o][i]} ref ${data[i]} err ${err[i]}\n${printGraph(g)}`;
      }
      if (!(diff <= tol))
        return `output ${o} (${g.outputs[o].dtype}) element ${i}: got ${got[o][i]}, expected ${data[i]} (tolerance ${tol.toExponential(2)})`;
    }
  }
  return undefined;
}

function report(c: Case, msg: string): string {
  const ins = c.inputs.map((x, i) => `  %${i} = [${Array.from(x).join(', ')}]`).join('\n');
  return `${msg}\n${printGraph(c.graph)}\ninputs:\n${ins}`;
}

/** Runs one case both ways; returns failure descriptions. */
function check(c: Case, stats: Stats): string[] {
  const ref = evaluate(c.graph, c.inputs);
  const failures: string[] = [];
  for (const fusion of [true, false]) {
    let msg: string | undefined;
    try {
      msg = compare(c.graph, runCompiled(c.graph, c.inputs, fusion), ref, stats);
    } catch (e) {
      msg = `threw ${(e as Error).stack?.split('\n').slice(0, 4).join(' | ')}`;
    }
    if (msg) failures.push(report(c, `${c.graph.name} fusion=${fusion}: ${msg}`));
    // FUSION_EQ_LOG=file collects every failure (the assertion shows the first few).
    if (msg && process.env.FUSION_EQ_LOG)
      appendFileSync(process.env.FUSION_EQ_LOG, failures[failures.length - 1] + '\n\n');
  }
  return failures;
}

/** sum(forward output) as the body of a vjp node over fresh primals; outputs: loss, then d loss / d each float param. */
function backwardCase(c: Case): Case | undefined {
  const out = c.graph.outputs[0];
  if (out.dtype !== 'f32') return undefined;
  const loss = out.shape.length ? emit('sum', [out], { axes: range(out.shape.length), keepdims: false }) : out;
  const body = graphFrom(`${c.graph.name}_body`, c.graph.params, [loss]);
  const wrt = range(c.graph.params.length).filter((i) => c.graph.params[i].types[0].dtype === 'f32');
  const primals = c.graph.params.map((p) => param(p.types[0].dtype, p.types[0].shape));
  const node = makeNode('vjp', [...primals.map((p) => p.out), constant(1, 'f32')], { wrt }, body);
  return { graph: graphFrom(`${c.graph.name}_grad`, primals, node.outs), inputs: c.inputs };
}

describe(`fusion equivalence on random graphs (${BACKEND} backend)`, () => {
  it(`forward: ${FORWARD_GRAPHS} graphs, fused == unfused == float64 reference`, () => {
    const stats: Stats = { elements: 0, skipped: 0, worst: 0 };
    const failures: string[] = [];
    const ops = new Set<string>();
    const sizes: number[] = [];
    let outOfIntRange = 0;
    for (let k = 0; k < FORWARD_GRAPHS; k++) {
      const c = randomCase(SEED + k);
      // A documented gpujs limit, not a fusion question: skip, counted below.
      if (GPUJS && int32Peak(c.graph, c.inputs) >= GPUJS_INT_LIMIT) {
        outOfIntRange++;
        continue;
      }
      for (const n of c.graph.nodes) ops.add(n.op);
      sizes.push(c.graph.nodes.filter((n) => n.op !== 'const').length);
      failures.push(...check(c, stats));
    }
    if (process.env.FUSION_EQ_LOG)
      console.log(
        'forward',
        stats,
        'int32 out of range',
        outOfIntRange,
        'nodes min/mean/max',
        Math.min(...sizes),
        sizes.reduce((a, b) => a + b) / sizes.length,
        Math.max(...sizes),
      );
    expect(failures.slice(0, 3).join('\n\n')).toBe('');
    // The generator covers every family, and few elements are skipped as fragile.
    for (const op of [
      'exp',
      'log',
      'sqrt',
      'sin',
      'tanh',
      'sigmoid',
      'log1p',
      'expm1',
      'floor',
      'ceil',
      'round',
      'pow',
      'div',
      'maximum',
      'where',
      'sum',
      'max',
      'reshape',
      'permute',
      'expand',
      'slice',
      'pad',
      'concat',
      'dot',
      'cast',
      'iota',
      'const',
    ])
      expect(ops).toContain(op);
    expect(stats.skipped).toBeLessThan(stats.elements * 0.01);
    expect(stats.elements).toBeGreaterThan(FORWARD_GRAPHS * 10);
    // 33 of the first 1,000 graphs (1 of the first 60) leave gpujs's exact int32 range.
    expect(outOfIntRange).toBeLessThan(FORWARD_GRAPHS * 0.1);
  });

  it(`forward + backward: ${BACKWARD_GRAPHS} gradients of sum(output), fused == unfused == float64 reverse mode`, () => {
    const stats: Stats = { elements: 0, skipped: 0, worst: 0 };
    const failures: string[] = [];
    let made = 0;
    for (let k = 0; made < BACKWARD_GRAPHS; k++) {
      const b = backwardCase(randomCase(SEED + 100_000 + k, false));
      if (!b) continue;
      made++;
      failures.push(...check(b, stats));
    }
    if (process.env.FUSION_EQ_LOG) console.log('backward', stats);
    expect(failures.slice(0, 3).join('\n\n')).toBe('');
    expect(stats.skipped).toBeLessThan(stats.elements * 0.01);
  });

  /** A sequence of forward graphs from `make`, every third also backward, all checked. */
  const sequence = (label: string, count: number, make: (k: number) => Case) => {
    const stats: Stats = { elements: 0, skipped: 0, worst: 0 };
    const failures: string[] = [];
    for (let k = 0; k < count; k++) {
      const c = make(k);
      failures.push(...check(c, stats));
      const b = k % 3 === 0 ? backwardCase(c) : undefined;
      if (b) failures.push(...check(b, stats));
    }
    if (process.env.FUSION_EQ_LOG) console.log(label, stats);
    expect(failures.slice(0, 3).join('\n\n')).toBe('');
    expect(stats.skipped).toBeLessThan(stats.elements * 0.01);
  };

  it(`row programs: ${ROW_GRAPHS} graphs rich in softmax-like rows, forward and backward, fused == unfused == reference`, () =>
    sequence('rows', ROW_GRAPHS, (k) => randomCase(SEED + 400_000 + k, false, 4)));

  it(`wide rows: ${WIDE_GRAPHS} graphs whose inner axes have 8 to 13 elements, forward and backward, fused == unfused == reference`, () =>
    sequence('wide', WIDE_GRAPHS, (k) => randomCase(SEED + 500_000 + k, false, 1, true)));

  it(`gather programs: ${GATHER_GRAPHS} graphs with indirect loads (negative, duplicate, clamped indices), forward and backward, fused == unfused == reference`, () =>
    sequence('gather', GATHER_GRAPHS, (k) => randomCase(SEED + 600_000 + k, false, 0, false, 3)));

  // Checks only the reference, so it runs once (in the js project).
  it.skipIf(GPUJS)('the reference reverse mode agrees with float64 central differences of the reference', () => {
    let checked = 0;
    let total = 0;
    for (let k = 0; k < 40; k++) {
      // The main sequence, then one rich in gathers (the reference's scatter-add).
      const b = backwardCase(
        k < 20 ? randomCase(SEED + 300_000 + k, false) : randomCase(SEED + 700_000 + k, false, 0, false, 3),
      );
      if (!b) continue;
      const [loss, ...grads] = evaluate(b.graph, b.inputs);
      const vjpNode = b.graph.nodes.find((n) => n.op === 'vjp')!;
      const body = vjpNode.body!;
      // Gradient p belongs to input wrt[p] (int32 inputs, such as gather indices, have none).
      const wrt = vjpNode.attrs.wrt as number[];
      const f = (xs: Float64Array[]) => evaluate(body, xs)[0].data[0];
      grads.forEach((gr, p) => {
        for (let i = 0; i < gr.data.length; i++) {
          total++;
          // Central differences at two steps; where they disagree, f has a kink nearby.
          const fd = (h: number) => {
            const up = b.inputs.map((x) => Float64Array.from(x));
            const dn = b.inputs.map((x) => Float64Array.from(x));
            up[wrt[p]][i] += h;
            dn[wrt[p]][i] -= h;
            return (f(up) - f(dn)) / (2 * h);
          };
          const [d1, d2] = [fd(1e-4), fd(5e-5)];
          if (Math.abs(d1 - d2) > 1e-6 * (1 + Math.abs(d2))) continue;
          checked++;
          expect(Math.abs(gr.data[i] - d2), `${b.graph.name} grad ${p}[${i}]`).toBeLessThanOrEqual(
            1e-6 * (1 + Math.abs(d2)) * (1 + loss.err[0]),
          );
        }
      });
    }
    expect(checked).toBeGreaterThan(total * 0.9);
  });

  it('fused plans have no more kernels than unfused ones', () => {
    let fewer = 0;
    for (let k = 0; k < KERNEL_COUNT_GRAPHS; k++) {
      const c = randomCase(SEED + 200_000 + k);
      const on = compileGraph(c.graph, { backend, fusion: true }).plan.kernels.length;
      const off = compileGraph(c.graph, { backend, fusion: false }).plan.kernels.length;
      expect(on).toBeLessThanOrEqual(off);
      if (on < off) fewer++;
    }
    expect(fewer).toBeGreaterThan(20);
  });
});

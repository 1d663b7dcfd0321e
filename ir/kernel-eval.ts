/**
 * The reference semantics of kernel expressions: an interpreter of one
 * kernel over plain arrays. Every code generator must agree with it (the
 * op-table tests check each target against it on edge values), and a
 * backend may use it for what its device cannot compute (gpujs evaluates the
 * `random` primitive on the host with it).
 *
 * Values are float64 numbers. int32 results wrap like `Math.imul` and `| 0`;
 * bools are 0/1; float -> int32 casts truncate toward zero; the `random` op
 * is the counter-based hash of ir/random.ts. Stores into the output typed
 * arrays round float32 results. An indirect load reads at the value of its
 * index expression (already clamped into the buffer by construction).
 */
import type { DType } from './dtype';
import { type Expr, type ExprOp, type Kernel, atomSource, reduceCombine, reduceIdentity } from './kernel';
import { uniform } from './random';
import type { Idx, LoopVar } from './symbolic';

type Scalar = (a: number, b: number, c: number) => number;

/** Numerically stable logistic function (exp never overflows). */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * Rounds to the nearest integer, ties to even (numpy's `round`, WebAssembly's
 * `nearest`), keeping the sign of zero. `Math.round` rounds ties up; where it
 * took a tie up to an odd integer, the even one is one below.
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** float -> int32 cast (truncation; wraps like `| 0` beyond 2^31), int32 and bool kept, anything -> bool is `!= 0`. */
function castTo(to: DType, from: DType): Scalar {
  if (to === from || to === 'f32' || (to === 'i32' && from === 'bool')) return (a) => a;
  if (to === 'i32') return (a) => a | 0;
  return (a) => (a !== 0 ? 1 : 0);
}

/**
 * What each elementwise op computes, given its result dtype (int32 results wrap) and the dtype of
 * its first operand (what a cast converts from).
 */
export const OP_SEMANTICS: { readonly [K in ExprOp]: (dtype: DType, from: DType) => Scalar } = {
  neg: (dtype) => (dtype === 'i32' ? (a) => -a | 0 : (a) => -a),
  abs: (dtype) => (dtype === 'i32' ? (a) => Math.abs(a) | 0 : (a) => Math.abs(a)),
  sign: () => (a) => Math.sign(a),
  exp: () => (a) => Math.exp(a),
  log: () => (a) => Math.log(a),
  sqrt: () => (a) => Math.sqrt(a),
  sin: () => (a) => Math.sin(a),
  cos: () => (a) => Math.cos(a),
  tanh: () => (a) => Math.tanh(a),
  sigmoid: () => (a) => sigmoid(a),
  log1p: () => (a) => Math.log1p(a),
  expm1: () => (a) => Math.expm1(a),
  floor: () => (a) => Math.floor(a),
  ceil: () => (a) => Math.ceil(a),
  round: () => (a) => roundHalfEven(a),
  not: () => (a) => 1 - a,
  add: (dtype) => (dtype === 'i32' ? (a, b) => (a + b) | 0 : (a, b) => a + b),
  sub: (dtype) => (dtype === 'i32' ? (a, b) => (a - b) | 0 : (a, b) => a - b),
  mul: (dtype) => (dtype === 'i32' ? (a, b) => Math.imul(a, b) : (a, b) => a * b),
  div: () => (a, b) => a / b,
  pow: () => (a, b) => Math.pow(a, b),
  maximum: () => (a, b) => Math.max(a, b),
  minimum: () => (a, b) => Math.min(a, b),
  and: () => (a, b) => a & b,
  or: () => (a, b) => a | b,
  lt: () => (a, b) => (a < b ? 1 : 0),
  le: () => (a, b) => (a <= b ? 1 : 0),
  gt: () => (a, b) => (a > b ? 1 : 0),
  ge: () => (a, b) => (a >= b ? 1 : 0),
  eq: () => (a, b) => (a === b ? 1 : 0),
  ne: () => (a, b) => (a !== b ? 1 : 0),
  where: () => (c, a, b) => (c !== 0 ? a : b),
  cast: (dtype, from) => castTo(dtype, from),
  random: () => (seed, counter) => uniform(seed, counter),
};

/** Loop-variable values live in one Float64Array; expressions compile to closures over it. */
type Env = Float64Array;
type Compiled = (env: Env) => number;

class Interpreter {
  private readonly slots = new Map<LoopVar, number>();
  private readonly memo = new Map<Expr, Compiled>();

  constructor(
    private readonly inputs: readonly ArrayLike<number>[],
    private readonly args: readonly number[],
  ) {}

  slotOf(x: LoopVar): number {
    let s = this.slots.get(x);
    if (s === undefined) this.slots.set(x, (s = this.slots.size));
    return s;
  }

  get slotCount(): number {
    return this.slots.size;
  }

  index(i: Idx): Compiled {
    switch (i.kind) {
      case 'num': {
        const v = i.value;
        return () => v;
      }
      case 'var': {
        const s = this.slotOf(i.variable);
        return (env) => env[s];
      }
      case 'add': {
        const terms = i.terms.map((t) => this.index(t));
        return (env) => terms.reduce((acc, t) => acc + t(env), 0);
      }
      case 'mul': {
        const a = this.index(i.operand);
        const c = i.constant;
        return (env) => a(env) * c;
      }
      case 'div': {
        const a = this.index(i.operand);
        const c = i.constant;
        return (env) => Math.floor(a(env) / c);
      }
      case 'mod': {
        const a = this.index(i.operand);
        const c = i.constant;
        return (env) => ((a(env) % c) + c) % c;
      }
      case 'value':
        // The source is clamped into range by construction (ExprBuilder.indexValue).
        return this.expr(atomSource(i));
    }
  }

  expr(e: Expr): Compiled {
    // Shared subexpressions compile once but are evaluated at every use: plain, not fast.
    let f = this.memo.get(e);
    if (!f) this.memo.set(e, (f = this.compile(e)));
    return f;
  }

  private compile(e: Expr): Compiled {
    switch (e.kind) {
      case 'lit': {
        const v = e.value;
        return () => v;
      }
      case 'arg': {
        const v = this.args[e.slot];
        return () => v;
      }
      case 'index':
        return this.index(e.at);
      case 'load': {
        const data = this.inputs[e.input];
        const at = this.index(e.at);
        return (env) => data[at(env)];
      }
      case 'reduce': {
        const slots = e.vars.map((x) => this.slotOf(x));
        const sizes = e.vars.map((x) => x.size);
        const body = this.expr(e.body);
        const init = reduceIdentity(e.op, e.dtype);
        const combine = OP_SEMANTICS[reduceCombine(e.op)](e.dtype, e.dtype);
        return (env) => {
          let acc = init;
          const loop = (d: number) => {
            if (d === slots.length) {
              acc = combine(acc, body(env), 0);
              return;
            }
            for (let i = 0; i < sizes[d]; i++) {
              env[slots[d]] = i;
              loop(d + 1);
            }
          };
          loop(0);
          return acc;
        };
      }
      case 'op': {
        const fn = OP_SEMANTICS[e.op](e.dtype, e.args[0].dtype);
        const [a, b, c] = e.args.map((x) => this.expr(x));
        if (c) return (env) => fn(a(env), b(env), c(env));
        if (b) return (env) => fn(a(env), b(env), 0);
        return (env) => fn(a(env), 0, 0);
      }
    }
  }
}

/**
 * Evaluates every output of kernel `k` over its iteration space.
 * `inputs`: the data of each input slot; `args`: the value of each scalar
 * argument slot. Returns one float64 array per output, in output order.
 */
export function evaluateKernel(
  k: Kernel,
  inputs: readonly ArrayLike<number>[],
  args: readonly number[],
): Float64Array[] {
  const interp = new Interpreter(inputs, args);
  const outSlots = k.vars.map((x) => interp.slotOf(x));
  const fns = k.outputs.map((o) => interp.expr(o.expr));
  const env = new Float64Array(Math.max(1, interp.slotCount));
  const n = k.shape.reduce((a, b) => a * b, 1);
  const outs = k.outputs.map(() => new Float64Array(n));
  const sizes = k.vars.map((x) => x.size);
  for (let o = 0; o < n; o++) {
    let rem = o;
    for (let d = sizes.length - 1; d >= 0; d--) {
      env[outSlots[d]] = rem % sizes[d];
      rem = Math.floor(rem / sizes[d]);
    }
    fns.forEach((f, i) => (outs[i][o] = f(env)));
  }
  return outs;
}

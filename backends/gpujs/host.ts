/**
 * Host evaluation of a kernel, for what the GPU must not compute: the
 * `random` primitive (fusion makes it its own kernel on this backend), so
 * its numbers are exactly those of ir/random.ts, as on the js backend. The
 * kernel's expression is compiled to closures over plain arrays, with the js
 * backend's semantics (f64 math, i32 wrap-around, stores into typed arrays).
 */
import { type DType, type Expr, type Kernel, type LoopVar, type Idx, uniform } from '../../ir';
import { type TypedArray, arrayFor } from '../backend';

type Env = Float64Array;
type Fn = (env: Env) => number;

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

class HostCompiler {
  private readonly slot = new Map<LoopVar, number>();

  constructor(
    private readonly ins: readonly ArrayLike<number>[],
    private readonly args: readonly number[],
  ) {}

  varSlot(x: LoopVar): number {
    let s = this.slot.get(x);
    if (s === undefined) this.slot.set(x, (s = this.slot.size));
    return s;
  }

  get slots(): number {
    return this.slot.size;
  }

  idx(i: Idx): Fn {
    switch (i.kind) {
      case 'num': {
        const v = i.value;
        return () => v;
      }
      case 'var': {
        const s = this.varSlot(i.variable);
        return (env) => env[s];
      }
      case 'add': {
        const ts = i.terms.map((t) => this.idx(t));
        return (env) => ts.reduce((acc, t) => acc + t(env), 0);
      }
      case 'mul': {
        const a = this.idx(i.operand);
        const c = i.constant;
        return (env) => a(env) * c;
      }
      case 'div': {
        const a = this.idx(i.operand);
        const c = i.constant;
        return (env) => Math.floor(a(env) / c);
      }
      case 'mod': {
        const a = this.idx(i.operand);
        const c = i.constant;
        return (env) => ((a(env) % c) + c) % c;
      }
    }
  }

  expr(e: Expr): Fn {
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
        return this.idx(e.at);
      case 'load': {
        const arr = this.ins[e.input];
        const at = this.idx(e.at);
        return (env) => arr[at(env)];
      }
      case 'reduce': {
        const slots = e.vars.map((x) => this.varSlot(x));
        const sizes = e.vars.map((x) => x.size);
        const body = this.expr(e.body);
        const isMax = e.op === 'max';
        const int = e.dtype === 'i32';
        return (env) => {
          let acc = isMax ? (int ? -2147483648 : -Infinity) : 0;
          const loop = (d: number) => {
            if (d === slots.length) {
              const v = body(env);
              acc = isMax ? Math.max(acc, v) : int ? (acc + v) | 0 : acc + v;
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
      case 'op':
        return this.op(e);
    }
  }

  private op(e: Expr & { kind: 'op' }): Fn {
    const [a, b, c] = e.args.map((x) => this.expr(x));
    const int = e.dtype === 'i32';
    switch (e.op) {
      case 'neg':
        return int ? (v) => -a(v) | 0 : (v) => -a(v);
      case 'abs':
        return int ? (v) => Math.abs(a(v)) | 0 : (v) => Math.abs(a(v));
      case 'sign':
        return (v) => Math.sign(a(v));
      case 'not':
        return (v) => 1 - a(v);
      case 'add':
        return int ? (v) => (a(v) + b(v)) | 0 : (v) => a(v) + b(v);
      case 'sub':
        return int ? (v) => (a(v) - b(v)) | 0 : (v) => a(v) - b(v);
      case 'mul':
        return int ? (v) => Math.imul(a(v), b(v)) : (v) => a(v) * b(v);
      case 'div':
        return (v) => a(v) / b(v);
      case 'pow':
        return (v) => Math.pow(a(v), b(v));
      case 'maximum':
        return (v) => Math.max(a(v), b(v));
      case 'minimum':
        return (v) => Math.min(a(v), b(v));
      case 'and':
        return (v) => a(v) & b(v);
      case 'or':
        return (v) => a(v) | b(v);
      case 'lt':
        return (v) => (a(v) < b(v) ? 1 : 0);
      case 'le':
        return (v) => (a(v) <= b(v) ? 1 : 0);
      case 'gt':
        return (v) => (a(v) > b(v) ? 1 : 0);
      case 'ge':
        return (v) => (a(v) >= b(v) ? 1 : 0);
      case 'eq':
        return (v) => (a(v) === b(v) ? 1 : 0);
      case 'ne':
        return (v) => (a(v) !== b(v) ? 1 : 0);
      case 'where':
        return (v) => (a(v) !== 0 ? b(v) : c(v));
      case 'random':
        return (v) => uniform(a(v), b(v));
      case 'exp':
        return (v) => Math.exp(a(v));
      case 'log':
        return (v) => Math.log(a(v));
      case 'sqrt':
        return (v) => Math.sqrt(a(v));
      case 'sin':
        return (v) => Math.sin(a(v));
      case 'cos':
        return (v) => Math.cos(a(v));
      case 'tanh':
        return (v) => Math.tanh(a(v));
      case 'sigmoid':
        return (v) => sigmoid(a(v));
      case 'log1p':
        return (v) => Math.log1p(a(v));
      case 'expm1':
        return (v) => Math.expm1(a(v));
      case 'cast': {
        const from = e.args[0].dtype;
        if (e.dtype === from || e.dtype === 'f32' || (e.dtype === 'i32' && from === 'bool')) return a;
        if (e.dtype === 'i32') return (v) => a(v) | 0;
        return (v) => (a(v) !== 0 ? 1 : 0);
      }
    }
  }
}

/** Evaluates kernel `k` on host arrays; returns its output as a typed array of `dtype`. */
export function runOnHost(
  k: Kernel,
  ins: readonly ArrayLike<number>[],
  args: readonly number[],
  dtype: DType,
): TypedArray {
  const hc = new HostCompiler(ins, args);
  const outSlots = k.vars.map((x) => hc.varSlot(x));
  const f = hc.expr(k.outputs[0].expr);
  const env = new Float64Array(Math.max(1, hc.slots));
  const n = k.shape.reduce((a, b) => a * b, 1);
  const out = arrayFor(dtype, n);
  const sizes = k.vars.map((x) => x.size);
  for (let o = 0; o < n; o++) {
    let rem = o;
    for (let d = sizes.length - 1; d >= 0; d--) {
      env[outSlots[d]] = rem % sizes[d];
      rem = Math.floor(rem / sizes[d]);
    }
    out[o] = f(env);
  }
  return out;
}

/**
 * JavaScript syntax of kernel values: one entry per `ExprOp` (the type makes
 * a missing op a compile error), literals and index expressions. Values are
 * float64 numbers; int32 results wrap (`| 0`, `Math.imul`); bools are 0/1.
 * The kernel factory receives the helpers of `KERNEL_HELPERS` (`rnd`,
 * `sigmoid`, `roundEven`: ir/random.ts, ir/kernel-eval.ts) as parameters.
 */
import {
  type DType,
  type ExprOp,
  type Idx,
  type LoopVar,
  type ValueIdx,
  roundHalfEven,
  sigmoid,
  uniform,
} from '../../ir';

/** The functions generated kernels call, by the names the kernel factory binds them to. */
export const KERNEL_HELPERS = { rnd: uniform, sigmoid, roundEven: roundHalfEven } as const;

/** Runs the factory source of a kernel (codegen.ts) with the helpers bound, giving the kernel function. */
export function instantiateKernel(source: string): unknown {
  return new Function(...Object.keys(KERNEL_HELPERS), source)(...Object.values(KERNEL_HELPERS));
}

/** Writes one op applied to already-written operands, given the result dtype and the first operand's. */
export type JsOp = (a: readonly string[], dtype: DType, from: DType) => string;

const wrapIfInt = (dtype: DType, s: string) => (dtype === 'i32' ? `(${s} | 0)` : s);
const compare =
  (cmp: string): JsOp =>
  (a) =>
    `(${a[0]} ${cmp} ${a[1]} ? 1 : 0)`;
const call =
  (fn: string): JsOp =>
  (a) =>
    `${fn}(${a[0]})`;

export const JS_OPS: { readonly [K in ExprOp]: JsOp } = {
  neg: (a, t) => wrapIfInt(t, `(-${a[0]})`),
  abs: (a, t) => wrapIfInt(t, `Math.abs(${a[0]})`),
  sign: call('Math.sign'),
  exp: call('Math.exp'),
  log: call('Math.log'),
  sqrt: call('Math.sqrt'),
  sin: call('Math.sin'),
  cos: call('Math.cos'),
  tanh: call('Math.tanh'),
  sigmoid: call('sigmoid'),
  log1p: call('Math.log1p'),
  expm1: call('Math.expm1'),
  floor: call('Math.floor'),
  ceil: call('Math.ceil'),
  // Math.round takes ties up; numpy's round takes them to even.
  round: call('roundEven'),
  not: (a) => `(1 - ${a[0]})`,
  add: (a, t) => wrapIfInt(t, `(${a[0]} + ${a[1]})`),
  sub: (a, t) => wrapIfInt(t, `(${a[0]} - ${a[1]})`),
  mul: (a, t) => (t === 'i32' ? `Math.imul(${a[0]}, ${a[1]})` : `(${a[0]} * ${a[1]})`),
  div: (a) => `(${a[0]} / ${a[1]})`,
  pow: (a) => `Math.pow(${a[0]}, ${a[1]})`,
  maximum: (a) => `Math.max(${a[0]}, ${a[1]})`,
  minimum: (a) => `Math.min(${a[0]}, ${a[1]})`,
  and: (a) => `(${a[0]} & ${a[1]})`,
  or: (a) => `(${a[0]} | ${a[1]})`,
  lt: compare('<'),
  le: compare('<='),
  gt: compare('>'),
  ge: compare('>='),
  eq: compare('==='),
  ne: compare('!=='),
  where: (a) => `(${a[0]} !== 0 ? ${a[1]} : ${a[2]})`,
  cast: (a, to, from) => {
    if (to === from || to === 'f32' || (to === 'i32' && from === 'bool')) return a[0];
    return to === 'i32' ? `(${a[0]} | 0)` : `(${a[0]} !== 0 ? 1 : 0)`;
  },
  random: (a) => `rnd(${a[0]}, ${a[1]})`,
};

/** A number as JavaScript source (NaN, infinities and -0 spelt out; negatives parenthesised). */
export function jsLiteral(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  return v < 0 ? `(${v})` : String(v);
}

/**
 * An index expression as JavaScript source; `name` writes a loop variable, `value` the expression
 * behind a value atom (an indirect load's index; index arithmetic without such atoms needs none).
 */
export function jsIndex(e: Idx, name: (x: LoopVar) => string, value?: (atom: ValueIdx) => string): string {
  const r = (x: Idx) => jsIndex(x, name, value);
  switch (e.kind) {
    case 'num':
      return e.value < 0 ? `(${e.value})` : String(e.value);
    case 'var':
      return name(e.variable);
    case 'value':
      if (!value) throw new Error(`jsIndex: index value ${e.key} has no writer`);
      return value(e);
    case 'add':
      return `(${e.terms.map(r).join(' + ')})`;
    case 'mul':
      return `${r(e.operand)} * ${e.constant < 0 ? `(${e.constant})` : e.constant}`;
    case 'div':
      return `Math.floor(${r(e.operand)} / ${e.constant})`;
    case 'mod':
      return `(${r(e.operand)} % ${e.constant})`;
  }
}

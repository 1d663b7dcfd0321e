/**
 * JavaScript syntax of kernel values: one entry per `ExprOp` (the type makes
 * a missing op a compile error), literals and index expressions. Values are
 * float64 numbers; int32 results wrap (`| 0`, `Math.imul`); bools are 0/1.
 * The kernel factory receives `sigmoid` and `rnd` (ir/kernel-eval.ts,
 * ir/random.ts) as parameters.
 */
import type { DType, ExprOp, Idx, LoopVar } from '../../ir';

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

/** An index expression as JavaScript source; `name` writes a loop variable. */
export function jsIndex(e: Idx, name: (x: LoopVar) => string): string {
  switch (e.kind) {
    case 'num':
      return e.value < 0 ? `(${e.value})` : String(e.value);
    case 'var':
      return name(e.variable);
    case 'add':
      return `(${e.terms.map((t) => jsIndex(t, name)).join(' + ')})`;
    case 'mul':
      return `${jsIndex(e.operand, name)} * ${e.constant < 0 ? `(${e.constant})` : e.constant}`;
    case 'div':
      return `Math.floor(${jsIndex(e.operand, name)} / ${e.constant})`;
    case 'mod':
      return `(${jsIndex(e.operand, name)} % ${e.constant})`;
  }
}

/**
 * gpu.js syntax of kernel values: one entry per `ExprOp` (the type makes a
 * missing op a compile error). gpu.js translates the source to GLSL, where
 * every value is a float: bools are 0.0/1.0 and int32 values are floats
 * (exact below 2^24). Ops GL gets wrong (tanh, sigmoid, log1p, expm1, pow)
 * or leaves to the implementation (round: GLSL may take ties either way) are
 * not native here: passes/decompose.ts rewrites them before code
 * generation, leaving only a pow of a positive base. `random` runs on the
 * host (backends/gpujs/host.ts).
 */
import { type DType, type ExprOp, opsExcept } from '../../ir';

export interface GlOpContext {
  /** Result dtype and first operand's dtype. */
  readonly to: DType;
  readonly from: DType;
  /** A number as a literal or a uniform (GLSL has no literal for NaN or the infinities). */
  num(v: number): string;
}

/** Writes one op applied to already-written operands; null: the op never reaches the code generator. */
export type GlOp = ((a: readonly string[], c: GlOpContext) => string) | null;

/** The ops this target evaluates natively (`BackendLimits.nativeOps`). */
export const GPUJS_NATIVE_OPS = opsExcept('tanh', 'sigmoid', 'log1p', 'expm1', 'pow', 'round');

const compare =
  (cmp: string): GlOp =>
  (a) =>
    `(${a[0]} ${cmp} ${a[1]} ? 1.0 : 0.0)`;
const call =
  (fn: string): GlOp =>
  (a) =>
    `${fn}(${a[0]})`;
/** GL's sqrt and log of a negative number are undefined; Math gives NaN. */
const nanBelowZero =
  (fn: string): GlOp =>
  (a, c) =>
    `(${a[0]} < 0.0 ? ${c.num(NaN)} : ${fn}(${a[0]}))`;

export const GPUJS_OPS: { readonly [K in ExprOp]: GlOp } = {
  neg: (a) => `(-${a[0]})`,
  abs: call('Math.abs'),
  sign: (a) => `(${a[0]} > 0.0 ? 1.0 : (${a[0]} < 0.0 ? -1.0 : ${a[0]}))`,
  exp: call('Math.exp'),
  log: nanBelowZero('Math.log'),
  sqrt: nanBelowZero('Math.sqrt'),
  sin: call('Math.sin'),
  cos: call('Math.cos'),
  floor: call('Math.floor'),
  ceil: call('Math.ceil'),
  round: null,
  tanh: null,
  sigmoid: null,
  log1p: null,
  expm1: null,
  not: (a) => `(1.0 - ${a[0]})`,
  add: (a) => `(${a[0]} + ${a[1]})`,
  sub: (a) => `(${a[0]} - ${a[1]})`,
  mul: (a) => `(${a[0]} * ${a[1]})`,
  div: (a) => `(${a[0]} / ${a[1]})`,
  // Only for a positive base, which is all the pow decomposition leaves.
  pow: (a) => `Math.pow(${a[0]}, ${a[1]})`,
  // GL's max/min may drop a NaN operand; Math's propagate it (NaN + x is NaN).
  maximum: (a) => `(${a[0]} != ${a[0]} || ${a[1]} != ${a[1]} ? ${a[0]} + ${a[1]} : Math.max(${a[0]}, ${a[1]}))`,
  minimum: (a) => `(${a[0]} != ${a[0]} || ${a[1]} != ${a[1]} ? ${a[0]} + ${a[1]} : Math.min(${a[0]}, ${a[1]}))`,
  and: (a) => `(${a[0]} * ${a[1]})`,
  or: (a) => `Math.max(${a[0]}, ${a[1]})`,
  lt: compare('<'),
  le: compare('<='),
  gt: compare('>'),
  ge: compare('>='),
  eq: compare('=='),
  ne: compare('!='),
  where: (a) => `(${a[0]} != 0.0 ? ${a[1]} : ${a[2]})`,
  cast: (a, { to, from }) => {
    if (to === from || to === 'f32' || (to === 'i32' && from === 'bool')) return a[0];
    // Truncation toward zero.
    if (to === 'i32') return `(${a[0]} < 0.0 ? Math.ceil(${a[0]}) : Math.floor(${a[0]}))`;
    return `(${a[0]} != 0.0 ? 1.0 : 0.0)`;
  },
  random: null,
};

/** A float literal gpu.js and GLSL both read exactly, or undefined (pass it as a uniform). */
export function glLiteral(v: number): string | undefined {
  if (!Number.isFinite(v) || Object.is(v, -0)) return undefined;
  let s = String(Math.abs(v));
  if (!s.includes('.') && !s.includes('e')) s += '.0';
  return v < 0 ? `(-${s})` : s;
}

/**
 * WebAssembly of kernel values: one scalar and one 4-lane entry per
 * `ExprOp` (the types make a missing op a compile error). Values are f32
 * for float32 and i32 for int32 and bool (0/1); int32 arithmetic wraps like
 * the js backend's `| 0` and `Math.imul`, min/max/compare follow IEEE as
 * `Math` does (NaN propagates, -0 < +0); transcendentals are math.ts's
 * (within 2 ulp of `Math`). A vector entry may fall back to running the
 * scalar one lane by lane (`lanewise`) where SIMD has no matching
 * instruction.
 */
import type { DType, ExprOp } from '../../ir';
import type { FunctionBuilder, OpName, ValType } from './encoder';
import { type MathFn, emitMathInline } from './math';

/** What an op emitter may use besides the function being written. */
export interface OpContext {
  readonly fb: FunctionBuilder;
  /** Index of the module's function computing `fn` on f32 scalars (math.ts). */
  math(fn: MathFn): number;
}

/** Pushes one operand on the stack. */
export type Operand = () => void;

/** Emits one op over operands (pushed by the emitter, in order), given the result dtype and the first operand's. */
export type WasmOp = (c: OpContext, args: readonly Operand[], dtype: DType, from: DType) => void;

export const valType = (dtype: DType): ValType => (dtype === 'f32' ? 'f32' : 'i32');

/** Evaluates `arg` once into a new local; returns the local. */
export function keep(fb: FunctionBuilder, arg: Operand, t: ValType): number {
  const local = fb.local(t);
  arg();
  fb.op('local.set', local);
  return local;
}

const pushAll = (args: readonly Operand[]) => args.forEach((a) => a());

/** An op that is one instruction (scalar or 4-lane), chosen by the operands' dtype. */
const byType =
  (f32: OpName | undefined, i32: OpName): WasmOp =>
  (c, args, dtype, from) => {
    pushAll(args);
    const t = args.length > 1 ? from : dtype;
    c.fb.op(t === 'f32' ? f32! : i32);
  };

/** A transcendental: a call of the scalar function, or on 4 lanes math.ts's code inline (no call). */
const mathCall =
  (fn: MathFn, vector: boolean): WasmOp =>
  (c, args) => {
    if (!vector) {
      pushAll(args);
      c.fb.op('call', c.math(fn));
      return;
    }
    const [x, y] = args.map((a) => keep(c.fb, a, 'v128'));
    emitMathInline(c.fb, fn, x, y);
  };

/** select(a, b, cond): pushes a, b, then the condition. */
function select(fb: FunctionBuilder, a: Operand, b: Operand, cond: Operand) {
  a();
  b();
  cond();
  fb.op('select');
}

/** float -> int32 like `x | 0`: truncation, wrapping modulo 2^32, NaN and infinities to 0. */
function f32ToInt32Wrapping(fb: FunctionBuilder, x: Operand) {
  const v = keep(fb, x, 'f32');
  select(
    fb,
    () => fb.op('local.get', v).op('i64.trunc_sat_f32_s').op('i32.wrap_i64'),
    () => fb.op('i32.const', 0),
    () =>
      fb
        .op('local.get', v)
        .op('f32.abs')
        .op('f32.const', 2 ** 63)
        .op('f32.lt'),
  );
}

/** One round of ir/random.ts's mix32 on the i32 on the stack, scalar or 4 lanes. */
function mix32(fb: FunctionBuilder, vector: boolean) {
  const t = fb.local(vector ? 'v128' : 'i32');
  const shr = vector ? 'i32x4.shr_u' : 'i32.shr_u';
  const xor = vector ? 'v128.xor' : 'i32.xor';
  const mulBy = (m: number) => {
    fb.op('i32.const', m | 0);
    if (vector) fb.op('i32x4.splat').op('i32x4.mul');
    else fb.op('i32.mul');
  };
  const xorShift = (s: number) => {
    fb.op('local.tee', t).op('local.get', t).op('i32.const', s).op(shr).op(xor);
  };
  xorShift(16);
  mulBy(0x7feb352d);
  xorShift(15);
  mulBy(0x846ca68b);
  xorShift(16);
}

/** ir/random.ts's uniform(seed, counter): a float32 in [0, 1), bit for bit. */
function uniform(fb: FunctionBuilder, seed: Operand, counter: Operand, vector: boolean) {
  const k = fb.local(vector ? 'v128' : 'i32');
  const [xor, add] = vector ? (['v128.xor', 'i32x4.add'] as const) : (['i32.xor', 'i32.add'] as const);
  seed();
  fb.op('i32.const', 0x5bd1e995);
  if (vector) fb.op('i32x4.splat');
  fb.op(xor);
  mix32(fb, vector);
  fb.op('local.set', k);
  counter();
  fb.op('local.get', k).op(xor);
  mix32(fb, vector);
  fb.op('local.get', k).op(add);
  mix32(fb, vector);
  fb.op('i32.const', 8);
  if (vector)
    fb.op('i32x4.shr_u')
      .op('f32x4.convert_i32x4_s')
      .op('f32.const', 2 ** -24)
      .op('f32x4.splat')
      .op('f32x4.mul');
  else
    fb.op('i32.shr_u')
      .op('f32.convert_i32_s')
      .op('f32.const', 2 ** -24)
      .op('f32.mul');
}

export const SCALAR_OPS: { readonly [K in ExprOp]: WasmOp } = {
  neg: (c, [a], t) => {
    if (t === 'f32') return (a(), void c.fb.op('f32.neg'));
    c.fb.op('i32.const', 0);
    a();
    c.fb.op('i32.sub');
  },
  abs: (c, [a], t) => {
    if (t === 'f32') return (a(), void c.fb.op('f32.abs'));
    const x = keep(c.fb, a, 'i32');
    const s = c.fb.local('i32');
    c.fb.op('local.get', x).op('i32.const', 31).op('i32.shr_s').op('local.set', s);
    c.fb.op('local.get', x).op('local.get', s).op('i32.xor').op('local.get', s).op('i32.sub');
  },
  sign: (c, [a], t) => {
    const fb = c.fb;
    if (t === 'f32') {
      // x > 0 ? 1 : x < 0 ? -1 : x (keeps NaN and signed zeros, as Math.sign)
      const x = keep(fb, a, 'f32');
      const get = () => fb.op('local.get', x);
      select(
        fb,
        () => fb.op('f32.const', 1),
        () =>
          select(
            fb,
            () => fb.op('f32.const', -1),
            get,
            () => get().op('f32.const', 0).op('f32.lt'),
          ),
        () => get().op('f32.const', 0).op('f32.gt'),
      );
      return;
    }
    const x = keep(fb, a, 'i32');
    fb.op('local.get', x).op('i32.const', 0).op('i32.gt_s');
    fb.op('local.get', x).op('i32.const', 0).op('i32.lt_s').op('i32.sub');
  },
  exp: mathCall('exp', false),
  log: mathCall('log', false),
  sqrt: byType('f32.sqrt', 'f32.sqrt'),
  sin: mathCall('sin', false),
  cos: mathCall('cos', false),
  tanh: mathCall('tanh', false),
  sigmoid: mathCall('sigmoid', false),
  log1p: mathCall('log1p', false),
  expm1: mathCall('expm1', false),
  floor: byType('f32.floor', 'f32.floor'),
  ceil: byType('f32.ceil', 'f32.ceil'),
  // nearest rounds ties to even and keeps the sign of zero, as numpy's round.
  round: byType('f32.nearest', 'f32.nearest'),
  not: (c, [a]) => (a(), void c.fb.op('i32.eqz')),
  add: byType('f32.add', 'i32.add'),
  sub: byType('f32.sub', 'i32.sub'),
  mul: byType('f32.mul', 'i32.mul'),
  div: byType('f32.div', 'f32.div'),
  pow: mathCall('pow', false),
  maximum: (c, args, t) => {
    if (t === 'f32') return byType('f32.max', 'i32.add')(c, args, t, t);
    const [x, y] = args.map((a) => keep(c.fb, a, 'i32'));
    c.fb.op('local.get', x).op('local.get', y).op('local.get', x).op('local.get', y).op('i32.gt_s').op('select');
  },
  minimum: (c, args, t) => {
    if (t === 'f32') return byType('f32.min', 'i32.add')(c, args, t, t);
    const [x, y] = args.map((a) => keep(c.fb, a, 'i32'));
    c.fb.op('local.get', x).op('local.get', y).op('local.get', x).op('local.get', y).op('i32.lt_s').op('select');
  },
  and: byType(undefined, 'i32.and'),
  or: byType(undefined, 'i32.or'),
  lt: byType('f32.lt', 'i32.lt_s'),
  le: byType('f32.le', 'i32.le_s'),
  gt: byType('f32.gt', 'i32.gt_s'),
  ge: byType('f32.ge', 'i32.ge_s'),
  eq: byType('f32.eq', 'i32.eq'),
  ne: byType('f32.ne', 'i32.ne'),
  where: (c, [cond, a, b]) => select(c.fb, a, b, cond),
  cast: (c, [a], to, from) => {
    const fb = c.fb;
    if (to === from || (to === 'i32' && from === 'bool')) return a();
    if (to === 'f32') return (a(), void fb.op('f32.convert_i32_s'));
    if (to === 'i32') return f32ToInt32Wrapping(fb, a);
    a();
    if (from === 'f32') fb.op('f32.const', 0).op('f32.ne');
    else fb.op('i32.const', 0).op('i32.ne');
  },
  random: (c, [seed, counter]) => uniform(c.fb, seed, counter, false),
};

/** Splat of a scalar constant. */
function splatConst(fb: FunctionBuilder, t: DType, v: number) {
  if (t === 'f32') fb.op('f32.const', v).op('f32x4.splat');
  else fb.op('i32.const', v).op('i32x4.splat');
}

export type CompareOp = 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne';

/** The 4-lane comparisons giving all-ones masks, for f32 and for i32 (and bool) operands. */
export const VECTOR_COMPARES: { readonly [K in CompareOp]: readonly [OpName, OpName] } = {
  lt: ['f32x4.lt', 'i32x4.lt_s'],
  le: ['f32x4.le', 'i32x4.le_s'],
  gt: ['f32x4.gt', 'i32x4.gt_s'],
  ge: ['f32x4.ge', 'i32x4.ge_s'],
  eq: ['f32x4.eq', 'i32x4.eq'],
  ne: ['f32x4.ne', 'i32x4.ne'],
};

/** A 4-lane comparison: the all-ones mask becomes the bool 1 (negating -1). */
const compareV =
  (op: CompareOp): WasmOp =>
  (c, args, _t, from) => {
    pushAll(args);
    c.fb.op(VECTOR_COMPARES[op][from === 'f32' ? 0 : 1]).op('i32x4.neg');
  };

/**
 * Runs the scalar op on each lane: extracts the operands' lanes, applies
 * `SCALAR_OPS[op]`, and puts the 4 results back together.
 */
export function lanewise(op: ExprOp, argTypes: readonly DType[]): WasmOp {
  return (c, args, dtype, from) => {
    const fb = c.fb;
    const locals = args.map((a) => keep(fb, a, 'v128'));
    const acc = fb.local('v128');
    for (let lane = 0; lane < 4; lane++) {
      if (lane > 0) fb.op('local.get', acc);
      const laneArgs = locals.map(
        (l, i) => () =>
          void fb.op('local.get', l).op(argTypes[i] === 'f32' ? 'f32x4.extract_lane' : 'i32x4.extract_lane', lane),
      );
      SCALAR_OPS[op](c, laneArgs, dtype, from);
      if (lane === 0) fb.op(dtype === 'f32' ? 'f32x4.splat' : 'i32x4.splat');
      else fb.op(dtype === 'f32' ? 'f32x4.replace_lane' : 'i32x4.replace_lane', lane);
      fb.op('local.set', acc);
    }
    fb.op('local.get', acc);
  };
}

/** 4-lane ops (bool lanes are 0/1 like scalars; masks are turned back into 0/1). */
export const VECTOR_OPS: { readonly [K in ExprOp]: WasmOp } = {
  neg: byType('f32x4.neg', 'i32x4.neg'),
  abs: byType('f32x4.abs', 'i32x4.abs'),
  sign: (c, [a], t) => {
    const fb = c.fb;
    const x = keep(fb, a, 'v128');
    if (t === 'f32') {
      // bitselect(1, bitselect(-1, x, x < 0), x > 0)
      splatConst(fb, 'f32', 1);
      splatConst(fb, 'f32', -1);
      fb.op('local.get', x);
      fb.op('local.get', x);
      splatConst(fb, 'f32', 0);
      fb.op('f32x4.lt').op('v128.bitselect');
      fb.op('local.get', x);
      splatConst(fb, 'f32', 0);
      fb.op('f32x4.gt').op('v128.bitselect');
      return;
    }
    // (x < 0 mask: -1) - (x > 0 mask: -1)
    fb.op('local.get', x);
    splatConst(fb, 'i32', 0);
    fb.op('i32x4.lt_s');
    fb.op('local.get', x);
    splatConst(fb, 'i32', 0);
    fb.op('i32x4.gt_s').op('i32x4.sub');
  },
  exp: mathCall('exp', true),
  log: mathCall('log', true),
  sqrt: byType('f32x4.sqrt', 'f32x4.sqrt'),
  sin: mathCall('sin', true),
  cos: mathCall('cos', true),
  tanh: mathCall('tanh', true),
  sigmoid: mathCall('sigmoid', true),
  log1p: mathCall('log1p', true),
  expm1: mathCall('expm1', true),
  floor: byType('f32x4.floor', 'f32x4.floor'),
  ceil: byType('f32x4.ceil', 'f32x4.ceil'),
  round: byType('f32x4.nearest', 'f32x4.nearest'),
  not: (c, [a]) => {
    a();
    splatConst(c.fb, 'i32', 1);
    c.fb.op('v128.xor');
  },
  add: byType('f32x4.add', 'i32x4.add'),
  sub: byType('f32x4.sub', 'i32x4.sub'),
  mul: byType('f32x4.mul', 'i32x4.mul'),
  div: byType('f32x4.div', 'f32x4.div'),
  pow: mathCall('pow', true),
  maximum: byType('f32x4.max', 'i32x4.max_s'),
  minimum: byType('f32x4.min', 'i32x4.min_s'),
  and: byType(undefined, 'v128.and'),
  or: byType(undefined, 'v128.or'),
  lt: compareV('lt'),
  le: compareV('le'),
  gt: compareV('gt'),
  ge: compareV('ge'),
  eq: compareV('eq'),
  ne: compareV('ne'),
  where: (c, [cond, a, b]) => {
    a();
    b();
    cond();
    c.fb.op('i32x4.neg').op('v128.bitselect');
  },
  cast: (c, [a], to, from) => {
    const fb = c.fb;
    if (to === from || (to === 'i32' && from === 'bool')) return a();
    if (to === 'f32') return (a(), void fb.op('f32x4.convert_i32x4_s'));
    if (to === 'i32') return lanewise('cast', [from])(c, [a], to, from);
    a();
    splatConst(fb, from, 0);
    fb.op(from === 'f32' ? 'f32x4.ne' : 'i32x4.ne').op('i32x4.neg');
  },
  random: (c, [seed, counter]) => uniform(c.fb, seed, counter, true),
};

/**
 * Transcendental functions for the wasm backend, emitted as WebAssembly
 * functions into the module being built (WebAssembly has no such
 * instructions): each is an f32x4 function, (v128) -> v128 (pow:
 * (v128, v128) -> v128), that the kernel code calls, plus an (f32) -> f32
 * wrapper for scalar tails.
 *
 * Every function is branchless: all four lanes run the same instructions,
 * special cases are blended in with `v128.bitselect` masks. The method is
 * range reduction and a polynomial (coefficients fitted offline, minimax in
 * the relative error, by Lawson's iteration; each comment names the interval).
 *
 * Accuracy (the reference: float64 `Math.*` rounded to float32, sigmoid(x)
 * = x ≥ 0 ? 1/(1+e^-x) : e^x/(1+e^x)): checked over all 2^32 float32 inputs
 * for the unary functions (sin/cos: all |x| ≤ 1e4), the largest errors are
 * 1 ulp for exp, expm1, tanh, log, and 2 ulp for sigmoid, log1p, sin, cos;
 * pow is within 1 ulp on tens of millions of random and special pairs
 * (subnormal results: ulps of 2^-149). NaN, ±Infinity, ±0 (with Math's sign)
 * and subnormal inputs and results are as `Math` gives them.
 * sin and cos: the reduction |x| = n·π/2 + r is done in f64 with π/2 to
 * about 86 bits, exact to about 2^-70 for |x| ≤ 1e4. Beyond the specified
 * range (measured over every float): within 2 ulp for all |x| ≤ 1.6e6 (the
 * leading part of n·π/2 is exact while n < 2^20); up to 1e9 the absolute
 * error stays below 1.2e-7 (large in ulps only next to zeros of sin/cos);
 * past that it grows, and past |x| ≈ 3e15 the reduced argument is
 * meaningless and clamped: the result is then some value in [-1, 1], NaN
 * only for ±Infinity and NaN.
 *
 * Most functions compute in f32 arithmetic; sin/cos reduce the argument in
 * f64 (the two halves of the vector as f64x2), and pow computes
 * exp(y·log|x|) wholly in f64x2 (y·log|x| needs about 40 bits) and rounds
 * once to f32 at the end.
 *
 * The functions need no host imports, so they can be added to a module at
 * any point; their indices come from `ModuleBuilder.addFunction`.
 */
import { FunctionBuilder, type ModuleBuilder, type OpName } from './encoder';

export type MathFn = 'exp' | 'log' | 'sin' | 'cos' | 'tanh' | 'sigmoid' | 'log1p' | 'expm1' | 'pow';

export const MATH_FNS: readonly MathFn[] = ['exp', 'log', 'sin', 'cos', 'tanh', 'sigmoid', 'log1p', 'expm1', 'pow'];

/** How many arguments `fn` takes (pow: two). */
export function mathArity(fn: MathFn): 1 | 2 {
  return fn === 'pow' ? 2 : 1;
}

/**
 * The math functions of one module, each added at most once (on first use).
 * `vector(fn)`: (v128) -> v128 on four f32 lanes ((v128, v128) -> v128 for pow).
 * `scalar(fn)`: (f32) -> f32 ((f32, f32) -> f32 for pow), through the vector one.
 */
export class MathLibrary {
  private readonly vectors = new Map<MathFn, number>();
  private readonly scalars = new Map<MathFn, number>();

  constructor(private readonly mod: ModuleBuilder) {}

  /** Index of the f32x4 function `fn` in the module (added on first call). */
  vector(fn: MathFn): number {
    let index = this.vectors.get(fn);
    if (index === undefined) {
      const arity = mathArity(fn);
      const f = new FunctionBuilder(`math_${fn}_f32x4`, arity === 2 ? ['v128', 'v128'] : ['v128'], ['v128']);
      const g = new Gen(f);
      const result = BODIES[fn](g, g.param(0), g.param(1));
      result();
      index = this.mod.addFunction(f);
      this.vectors.set(fn, index);
    }
    return index;
  }

  /** Index of the scalar (f32) function `fn`: splats its argument(s), calls `vector(fn)`, takes lane 0. */
  scalar(fn: MathFn): number {
    let index = this.scalars.get(fn);
    if (index === undefined) {
      const vec = this.vector(fn);
      const arity = mathArity(fn);
      const f = new FunctionBuilder(`math_${fn}_f32`, arity === 2 ? ['f32', 'f32'] : ['f32'], ['f32']);
      for (let i = 0; i < arity; i++) f.op('local.get', i).op('f32x4.splat');
      f.op('call', vec).op('f32x4.extract_lane', 0);
      index = this.mod.addFunction(f);
      this.scalars.set(fn, index);
    }
    return index;
  }
}

/**
 * Emits `fn` inline into `f` (no call): reads the v128 locals `x` (and `y`
 * for pow) and leaves the f32x4 result on the stack. Adds locals to `f`.
 */
export function emitMathInline(f: FunctionBuilder, fn: MathFn, x: number, y?: number): void {
  if (mathArity(fn) === 2 && y === undefined) throw new Error(`emitMathInline: ${fn} takes two arguments`);
  const g = new Gen(f);
  BODIES[fn](g, g.param(x), g.param(y ?? x))();
}

// ---------------------------------------------------------------------------
// A small expression emitter: a `Val` emits the code that pushes one v128.
// Vals are emitted where they are used, so one used twice is bound to a local
// first (`let`).

type Val = () => void;

const scratch = new DataView(new ArrayBuffer(16));
function splatBytes(write: (offset: number) => void, width: number): number[] {
  for (let o = 0; o < 16; o += width) write(o);
  return Array.from({ length: 16 }, (_, i) => scratch.getUint8(i));
}

/** Byte-shuffle patterns (i8x16.shuffle of a, b; b's bytes are 16..31). */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
/** The low i32 of each i64 lane of a and of b. */
const LOW_WORDS = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];

class Gen {
  constructor(readonly f: FunctionBuilder) {}

  param(i: number): Val {
    return () => this.f.op('local.get', i);
  }

  /** Evaluates `v` once into a new local; the result reads the local. */
  let(v: Val): Val {
    v();
    const l = this.f.local('v128');
    this.f.op('local.set', l);
    return () => this.f.op('local.get', l);
  }

  op(name: OpName, ...args: Val[]): Val {
    return () => {
      for (const a of args) a();
      this.f.op(name);
    };
  }

  /** A shift (i32x4 / i64x2 shl, shr_s, shr_u) by a constant count. */
  shift(name: OpName, v: Val, count: number): Val {
    return () => {
      v();
      this.f.op('i32.const', count).op(name);
    };
  }

  shuffle(a: Val, b: Val, lanes: readonly number[]): Val {
    return () => {
      a();
      b();
      this.f.op('i8x16.shuffle', lanes);
    };
  }

  f32(v: number): Val {
    const bytes = splatBytes((o) => scratch.setFloat32(o, v, true), 4);
    return () => this.f.op('v128.const', bytes);
  }

  i32(v: number): Val {
    const bytes = splatBytes((o) => scratch.setInt32(o, v | 0, true), 4);
    return () => this.f.op('v128.const', bytes);
  }

  f64(v: number): Val {
    const bytes = splatBytes((o) => scratch.setFloat64(o, v, true), 8);
    return () => this.f.op('v128.const', bytes);
  }

  i64(v: number): Val {
    const bytes = splatBytes((o) => scratch.setBigInt64(o, BigInt(v), true), 8);
    return () => this.f.op('v128.const', bytes);
  }

  // f32x4 arithmetic
  add = (a: Val, b: Val) => this.op('f32x4.add', a, b);
  sub = (a: Val, b: Val) => this.op('f32x4.sub', a, b);
  mul = (a: Val, b: Val) => this.op('f32x4.mul', a, b);
  div = (a: Val, b: Val) => this.op('f32x4.div', a, b);
  /** a if a is not above hi (NaN stays NaN). */
  min = (a: Val, hi: Val) => this.op('f32x4.pmin', a, hi);
  /** a if a is not below lo (NaN stays NaN). */
  max = (a: Val, lo: Val) => this.op('f32x4.pmax', a, lo);
  abs = (a: Val) => this.op('f32x4.abs', a);
  and = (a: Val, b: Val) => this.op('v128.and', a, b);
  or = (a: Val, b: Val) => this.op('v128.or', a, b);
  xor = (a: Val, b: Val) => this.op('v128.xor', a, b);
  /** a & ~b. */
  andnot = (a: Val, b: Val) => this.op('v128.andnot', a, b);
  /** a where mask is set, else b. */
  select = (a: Val, b: Val, mask: Val) => this.op('v128.bitselect', a, b, mask);

  /** c[0] + x·(c[1] + x·(c[2] + …)), in f32 or f64 arithmetic. */
  horner(x: Val, coeffs: readonly number[], wide = false): Val {
    const k = wide ? (v: number) => this.f64(v) : (v: number) => this.f32(v);
    const [add, mul]: OpName[] = wide ? ['f64x2.add', 'f64x2.mul'] : ['f32x4.add', 'f32x4.mul'];
    let acc = k(coeffs[coeffs.length - 1]);
    for (let i = coeffs.length - 2; i >= 0; i--) acc = this.op(add, this.op(mul, acc, x), k(coeffs[i]));
    return acc;
  }
}

// ---------------------------------------------------------------------------
// Constants

const SIGN = -0x80000000;
const INF = Infinity;
const MIN_NORMAL = 2 ** -126;
const LOG2E = 1.4426950408889634;
/** ln 2 = LN2_HI + LN2_LO, LN2_HI with 9 significant bits (n·LN2_HI exact for |n| < 2^15). */
const LN2_HI = 0.693359375;
const LN2_LO = -2.1219444170128554e-4;
const LN2 = 0.6931471805599453;
/** x + ROUND_F32 - ROUND_F32 rounds |x| < 2^22 to an integer, which is then the low bits of x + ROUND_F32. */
const ROUND_F32 = 12582912; // 1.5 · 2^23
const ROUND_F64 = 6755399441055744; // 1.5 · 2^52
const SQRT_HALF_BITS = 0x3f3504f3;
/** π/2 = PIO2_HI + PIO2_LO to about 2^-86; PIO2_HI has 33 significant bits (n·PIO2_HI exact for n < 2^20). */
const PIO2_HI = 1.5707963267341256;
const PIO2_LO = 6.077100506506192e-11;
const TWO_OVER_PI = 0.6366197723675814;

// Polynomials (minimax in relative error of the whole approximation, over the stated interval).

/** e^r - 1 ≈ r + r²·P(r), |r| ≤ ln2/2 + 1e-4: relative error 2^-26.2 (for exp: absolute error 2^-28). */
const EXP_P4 = [
  0.4999999815195898, 0.16666543528276279, 0.041667200261881115, 0.008366533094966976, 0.0013882519057261383,
];
/** e^r - 1 ≈ r + r²·P(r), |r| ≤ ln2/2 + 1e-4: relative error 2^-32. */
const EXPM1_P5 = [
  0.5000000044212983, 0.16666666370131789, 0.04166636068531465, 0.00833338941095987, 0.0013940646684964704,
  0.00019845879528287177,
];
/** log(1+f) ≈ f - f²/2 + f³·Q(f), √½-1 ≤ f ≤ √2-1: relative error 2^-27.3. */
const LOG1P_Q7 = [
  0.3333333165754866, -0.2500082271401164, 0.20001233383871914, -0.16623298367547018, 0.1420155306318563,
  -0.13160582554589784, 0.12763327040319486, -0.07635654898768832,
];
/** sin r ≈ r + r³·S(r²), |r| ≤ π/4 + 1e-3: relative error 2^-28. */
const SIN_S2 = [-0.16666654516648413, 0.008332154765323712, -0.00019514453871852157];
/** cos r ≈ 1 - r²/2 + r⁴·C(r²), |r| ≤ π/4 + 1e-3: relative error 2^-33. */
const COS_C2 = [0.041666645519240375, -0.001388730811780504, 2.443220953935116e-5];
/** tanh a ≈ a + a³·T(a²), 0 ≤ a ≤ 0.5625: relative error 2^-29.5. */
const TANH_T4 = [
  -0.3333331388864192, 0.13332452287093938, -0.05383743154778778, 0.021007463848177692, -0.006179816131621951,
];
/** Above this |x|, tanh is 1 - 2/(e^2|x| + 1) (≥ 0.51, no cancellation); below, the polynomial. */
const TANH_POLY_MAX = 0.5625;
/** f64: log(1+f) = 2s + s³·L(s²), s = f/(2+f), |s| ≤ (√2-1)/(√2+1): relative error 2^-44.9. */
const POW_LOG_L4 = [
  0.6666666667577409, 0.39999995630749324, 0.2857210824122021, 0.22176225830257132, 0.19583633772939513,
];
/** f64: e^r ≈ 1 + r + r²·E(r), |r| ≤ ln2/2: relative error 2^-34.2. */
const POW_EXP_E5 = [
  0.5000000067644085, 0.16666665869402028, 0.04166629508814382, 0.008333497010149193, 0.0013944648990807983,
  0.00019790352245281466,
];

// ---------------------------------------------------------------------------
// Shared pieces

/**
 * n = round(x·log2 e) as `nb` = n << 23 (n in the exponent field), and
 * r = x - n·ln2 (|r| ≤ ln2/2 + tiny). Needs |x| < 2^21.
 */
function reduceExp(g: Gen, x: Val): { nb: Val; r: Val } {
  // t = x·log2 e + 1.5·2^23: n is the low bits of t (two's complement), and t << 23 is n << 23.
  const t = g.let(g.add(g.mul(x, g.f32(LOG2E)), g.f32(ROUND_F32)));
  const n = g.let(g.sub(t, g.f32(ROUND_F32)));
  const nb = g.let(g.shift('i32x4.shl', t, 23));
  const r = g.let(g.sub(g.sub(x, g.mul(n, g.f32(LN2_HI))), g.mul(n, g.f32(LN2_LO))));
  return { nb, r };
}

/** 2^k as f32 from kb = k << 23, for k in [-126, 127]: kb + the bits of 1.0. */
function pow2(g: Gen, kb: Val): Val {
  return g.op('i32x4.add', kb, g.f32(1));
}

/**
 * e^x in f32 for x already clamped. `wide`: x in [-110, 89], where 2^n
 * leaves the normal range, so 2^n is applied in two steps (and a subnormal
 * result is rounded once); otherwise x must keep n in [-126, 127].
 * (The scale is multiplied in, not added to p's exponent, so a NaN stays NaN.)
 */
function expCore(g: Gen, x: Val, wide: boolean): Val {
  const { nb, r } = reduceExp(g, x);
  const p = g.add(g.f32(1), g.add(r, g.mul(g.mul(r, r), g.horner(r, EXP_P4))));
  if (!wide) return g.mul(p, pow2(g, nb));
  // h = floor(n/2) << 23, and n - h.
  const hb = g.let(g.shift('i32x4.shl', g.shift('i32x4.shr_s', nb, 24), 23));
  return g.mul(g.mul(p, pow2(g, hb)), pow2(g, g.op('i32x4.sub', nb, hb)));
}

/**
 * log of positive normal f32 lanes: k and m with x = 2^k·m, √½ ≤ m < √2, from
 * the bits (as i32 lanes k and f32 lanes m).
 */
function splitLog(g: Gen, x: Val): { k: Val; m: Val } {
  const t = g.let(g.op('i32x4.sub', x, g.i32(SQRT_HALF_BITS)));
  const k = g.let(g.shift('i32x4.shr_s', t, 23));
  const m = g.let(g.op('i32x4.add', g.and(t, g.i32(0x7fffff)), g.i32(SQRT_HALF_BITS)));
  return { k, m };
}

/** k·ln2 + log(1+f) in f32, for f in [√½-1, √2-1] (plus a little). */
function logTail(g: Gen, k: Val, f: Val): Val {
  const f2 = g.let(g.mul(f, f));
  const y = g.add(f, g.mul(f2, g.add(g.f32(-0.5), g.mul(f, g.horner(f, LOG1P_Q7)))));
  const kf = g.let(g.op('f32x4.convert_i32x4_s', k));
  return g.add(g.mul(kf, g.f32(LN2_HI)), g.add(y, g.mul(kf, g.f32(LN2_LO))));
}

// ---------------------------------------------------------------------------
// The functions

function exp(g: Gen, x: Val): Val {
  // Below -110 the result is 0, above 89 Infinity (e^88.72… is the largest f32).
  return expCore(g, g.let(g.max(g.min(x, g.f32(89)), g.f32(-110))), true);
}

function expm1(g: Gen, x0: Val): Val {
  const x = g.let(g.max(g.min(x0, g.f32(89)), g.f32(-40)));
  const { nb, r } = reduceExp(g, x);
  // e = e^r - 1; e^x - 1 = 2^n·e + 2^n - 1 = 2·(u·e + (u - ½)) with u = 2^(n-1) (exact for n ≤ 24, and no
  // overflow before the final doubling). u's bits: (n << 23) + the bits of 0.5.
  const e = g.add(r, g.mul(g.mul(r, r), g.horner(r, EXPM1_P5)));
  const u = g.let(g.op('i32x4.add', nb, g.f32(0.5)));
  const res = g.mul(g.add(g.mul(u, e), g.sub(u, g.f32(0.5))), g.f32(2));
  // |x| < 2^-24 (±0, subnormals included): e^x - 1 rounds to x.
  return g.select(x0, res, g.op('f32x4.lt', g.abs(x0), g.f32(2 ** -24)));
}

function log(g: Gen, x: Val): Val {
  // Subnormals: scale by 2^23 first.
  const sub = g.let(g.op('f32x4.lt', x, g.f32(MIN_NORMAL)));
  const xs = g.select(g.mul(x, g.f32(2 ** 23)), x, sub);
  const { k, m } = splitLog(g, g.let(xs));
  const f = g.let(g.sub(m, g.f32(1)));
  const res = logTail(g, g.op('i32x4.sub', k, g.and(sub, g.i32(23))), f);
  // +Infinity and NaN give themselves; 0 gives -Infinity, negatives NaN.
  const finite = g.select(res, x, g.op('f32x4.lt', x, g.f32(INF)));
  const nonPositive = g.select(g.f32(-INF), g.f32(NaN), g.op('f32x4.eq', x, g.f32(0)));
  return g.select(nonPositive, finite, g.op('f32x4.le', x, g.f32(0)));
}

function log1p(g: Gen, x: Val): Val {
  // u = 1 + x rounded, c = (1 + x) - u exactly; log(1+x) = k·ln2 + log(m + c·2^-k) with u = 2^k·m.
  const u = g.let(g.add(g.f32(1), x));
  const c = g.sub(x, g.sub(u, g.f32(1)));
  const { k, m } = splitLog(g, u);
  const scale = g.op('i32x4.sub', g.i32(0x3f800000), g.shift('i32x4.shl', g.op('i32x4.min_s', k, g.i32(126)), 23));
  const f = g.let(g.add(g.sub(m, g.f32(1)), g.mul(c, scale)));
  const res = logTail(g, k, f);
  // ±0, +Infinity and NaN give themselves; -1 gives -Infinity, below -1 NaN.
  const keep = g.and(g.op('f32x4.lt', x, g.f32(INF)), g.op('f32x4.ne', x, g.f32(0)));
  const ordinary = g.select(res, x, keep);
  const belowOrAt = g.select(g.f32(-INF), g.f32(NaN), g.op('f32x4.eq', x, g.f32(-1)));
  return g.select(belowOrAt, ordinary, g.op('f32x4.le', x, g.f32(-1)));
}

/**
 * sin (cosine = false) or cos of x: |x| = n·π/2 + r in f64 (exact to about
 * 2^-70 for |x| < 1e4), then the sin or cos polynomial of r by n mod 4.
 */
function sinCos(g: Gen, x: Val, cosine: boolean): Val {
  const a = g.let(g.abs(x));
  const halves = [g.op('f64x2.promote_low_f32x4', a), g.op('f64x2.promote_low_f32x4', g.shuffle(a, a, HIGH_HALF))];
  const rs: Val[] = [];
  const ns: Val[] = [];
  for (const h of halves) {
    const ad = g.let(h);
    const t = g.let(g.op('f64x2.add', g.op('f64x2.mul', ad, g.f64(TWO_OVER_PI)), g.f64(ROUND_F64)));
    const n = g.let(g.op('f64x2.sub', t, g.f64(ROUND_F64)));
    const r = g.op(
      'f64x2.sub',
      g.op('f64x2.sub', ad, g.op('f64x2.mul', n, g.f64(PIO2_HI))),
      g.op('f64x2.mul', n, g.f64(PIO2_LO)),
    );
    rs.push(g.op('f32x4.demote_f64x2_zero', r));
    ns.push(t); // n is the low 32 bits of t
  }
  // For |x| past about 3e15 the reduction is meaningless: clamp r so the result stays in [-1, 1].
  const r = g.let(g.max(g.min(g.shuffle(rs[0], rs[1], LOW_HALVES), g.f32(0.8)), g.f32(-0.8)));
  let q = g.shuffle(ns[0], ns[1], LOW_WORDS);
  if (cosine) q = g.op('i32x4.add', q, g.i32(1));
  const qv = g.let(q);
  const z = g.let(g.mul(r, r));
  const sinR = g.add(r, g.mul(g.mul(r, z), g.horner(z, SIN_S2)));
  const cosR = g.add(g.sub(g.f32(1), g.mul(z, g.f32(0.5))), g.mul(g.mul(z, z), g.horner(z, COS_C2)));
  const odd = g.shift('i32x4.shr_s', g.shift('i32x4.shl', qv, 31), 31);
  const value = g.select(cosR, sinR, odd);
  // Sign: bit 1 of the quadrant, and for sin the sign of x (sin is odd).
  const quadrantSign = g.shift('i32x4.shl', qv, 30);
  const sign = g.and(cosine ? quadrantSign : g.xor(quadrantSign, x), g.i32(SIGN));
  return g.xor(value, sign);
}

function tanh(g: Gen, x: Val): Val {
  // tanh(9.5) rounds to 1 in f32, so e^(2a) stays below 2^28.
  const a = g.let(g.min(g.abs(x), g.f32(9.5)));
  const z = g.let(g.mul(a, a));
  const small = g.add(a, g.mul(g.mul(a, z), g.horner(z, TANH_T4)));
  const e = expCore(g, g.let(g.add(a, a)), false);
  const large = g.sub(g.f32(1), g.div(g.f32(2), g.add(e, g.f32(1))));
  const value = g.select(small, large, g.op('f32x4.lt', a, g.f32(TANH_POLY_MAX)));
  return g.or(value, g.and(x, g.i32(SIGN)));
}

function sigmoid(g: Gen, x: Val): Val {
  // e = e^-|x|: x ≥ 0 gives 1/(1+e), x < 0 gives e/(1+e).
  const e = g.let(expCore(g, g.let(g.max(g.op('f32x4.neg', g.abs(x)), g.f32(-110))), true));
  const num = g.select(g.f32(1), e, g.op('f32x4.ge', x, g.f32(0)));
  return g.div(num, g.add(g.f32(1), e));
}

/**
 * pow: |x|^y = e^(y·log|x|) in f64 (per half), rounded once to f32; then the
 * sign for negative x and odd integer y, and Math.pow's special cases.
 */
function pow(g: Gen, x: Val, y: Val): Val {
  const a = g.let(g.abs(x));
  const sub = g.let(g.op('f32x4.lt', a, g.f32(MIN_NORMAL)));
  const { k: k0, m } = splitLog(g, g.let(g.select(g.mul(a, g.f32(2 ** 23)), a, sub)));
  const k = g.let(g.op('i32x4.sub', k0, g.and(sub, g.i32(23))));
  const high = (v: Val) => g.shuffle(v, v, HIGH_HALF);
  const results: Val[] = [];
  for (const part of [(v: Val) => v, high]) {
    const f = g.let(g.op('f64x2.sub', g.op('f64x2.promote_low_f32x4', part(m)), g.f64(1)));
    const s = g.let(g.op('f64x2.div', f, g.op('f64x2.add', f, g.f64(2))));
    const s2 = g.let(g.op('f64x2.mul', s, s));
    const log1pF = g.op(
      'f64x2.add',
      g.op('f64x2.add', s, s),
      g.op('f64x2.mul', g.op('f64x2.mul', s, s2), g.horner(s2, POW_LOG_L4, true)),
    );
    const logA = g.op('f64x2.add', g.op('f64x2.mul', g.op('f64x2.convert_low_i32x4_s', part(k)), g.f64(LN2)), log1pF);
    const yd = g.op('f64x2.promote_low_f32x4', part(y));
    // |t| ≥ 200 is 0 or Infinity in f32 either way; NaN stays NaN.
    const t = g.let(g.op('f64x2.pmax', g.op('f64x2.pmin', g.op('f64x2.mul', yd, logA), g.f64(200)), g.f64(-200)));
    const nr = g.let(g.op('f64x2.add', g.op('f64x2.mul', t, g.f64(LOG2E)), g.f64(ROUND_F64)));
    const n = g.op('f64x2.sub', nr, g.f64(ROUND_F64));
    const r = g.let(g.op('f64x2.sub', t, g.op('f64x2.mul', n, g.f64(LN2))));
    const p = g.op(
      'f64x2.add',
      g.f64(1),
      g.op('f64x2.add', r, g.op('f64x2.mul', g.op('f64x2.mul', r, r), g.horner(r, POW_EXP_E5, true))),
    );
    // 2^n: n + 1023 in the exponent field (the low 12 bits of nr + 1023 are n + 1023).
    const scale = g.shift('i64x2.shl', g.op('i64x2.add', nr, g.i64(1023)), 52);
    results.push(g.op('f32x4.demote_f64x2_zero', g.op('f64x2.mul', p, scale)));
  }
  const general = g.shuffle(results[0], results[1], LOW_HALVES);

  // y an integer (or infinite), and an odd one.
  const yInt = g.let(g.op('f32x4.eq', g.op('f32x4.nearest', y), y));
  const yHalf = g.let(g.mul(y, g.f32(0.5)));
  const yOdd = g.andnot(yInt, g.op('f32x4.eq', g.op('f32x4.nearest', yHalf), yHalf));
  // x = ±0 or ±Infinity: 0 or Infinity by the signs.
  const aInf = g.let(g.op('f32x4.eq', a, g.f32(INF)));
  const extreme = g.or(g.op('f32x4.eq', a, g.f32(0)), aInf);
  const extremeValue = g.select(g.f32(INF), g.f32(0), g.xor(aInf, g.op('f32x4.lt', y, g.f32(0))));
  const magnitude = g.select(extremeValue, general, extreme);
  // Negative x (-0 and -Infinity included) with odd y: negative.
  const negative = g.and(g.shift('i32x4.shr_s', x, 31), yOdd);
  const signed = g.or(magnitude, g.and(negative, g.i32(SIGN)));
  // NaN: x or y NaN, or finite negative x with non-integer y.
  const finiteNegative = g.and(g.op('f32x4.lt', x, g.f32(0)), g.op('f32x4.gt', x, g.f32(-INF)));
  const nan = g.or(g.or(g.op('f32x4.ne', x, x), g.op('f32x4.ne', y, y)), g.andnot(finiteNegative, yInt));
  const withNaN = g.select(g.f32(NaN), signed, nan);
  // y = ±0: 1, even for NaN x.
  return g.select(g.f32(1), withNaN, g.op('f32x4.eq', y, g.f32(0)));
}

const BODIES: Record<MathFn, (g: Gen, x: Val, y: Val) => Val> = {
  exp,
  log,
  sin: (g, x) => sinCos(g, x, false),
  cos: (g, x) => sinCos(g, x, true),
  tanh,
  sigmoid,
  log1p,
  expm1,
  pow,
};

/**
 * Decompositions: kernel-expression rewrites that spell an op out in simpler
 * ones, for targets that do not evaluate it natively (a target declares the
 * ops it does in `BackendLimits.nativeOps`). GL has no accurate tanh, its
 * exp-based sigmoid overflows, its pow is exp2(y * log2(x)) (NaN for a
 * negative base), Mesa folds the rounding corrections of log1p/expm1, and
 * GLSL's round may take ties either way;
 * WebAssembly has no transcendental instructions at all.
 *
 * A rule builds its result from operands that are already rewritten; the
 * ops it emits must be native on every target that lacks the op it
 * replaces, except that a rule may use its own op where every target gets it
 * right (pow of a positive base). Rules reproduce float64 `Math` to about
 * float32 precision over the float32 range.
 */
import {
  type Expr,
  type ExprOp,
  type Kernel,
  type KernelPlan,
  type LoopVar,
  type OpExpr,
  type Idx,
  ExprBuilder,
  atomSource,
  exprArgs,
  sourceIndex,
  sym,
} from '../ir';

/** Builds expressions of one kernel: the interning builder plus shorthands for the rules. */
class RuleBuilder {
  constructor(readonly b: ExprBuilder) {}
  lit(v: number): Expr {
    return this.b.lit(v, 'f32');
  }
  f(op: ExprOp, ...args: Expr[]): Expr {
    return this.b.op(op, args, 'f32');
  }
  test(op: 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne', a: Expr, b: Expr): Expr {
    return this.b.op(op, [a, b], 'bool');
  }
  and(a: Expr, b: Expr): Expr {
    return this.b.op('and', [a, b], 'bool');
  }
  or(a: Expr, b: Expr): Expr {
    return this.b.op('or', [a, b], 'bool');
  }
  where(c: Expr, a: Expr, b: Expr): Expr {
    return this.b.op('where', [c, a, b], 'f32');
  }
  /** Horner evaluation of sum(coeffs[i] * x^i). */
  poly(x: Expr, coeffs: readonly number[]): Expr {
    let acc = this.lit(coeffs[coeffs.length - 1]);
    for (let i = coeffs.length - 2; i >= 0; i--) acc = this.f('add', this.lit(coeffs[i]), this.f('mul', x, acc));
    return acc;
  }
}

type Rule = (r: RuleBuilder, args: readonly Expr[]) => Expr;

/** Taylor coefficients of tanh(x) / x in powers of x^2 (relative error below 1e-8 for |x| < 0.55). */
const TANH_OVER_X = [
  1.0, -0.3333333333333333, 0.13333333333333333, -0.05396825396825397, 0.021869488536155203, -0.008863235529902197,
  0.003592128036572481, -0.0014558343870513183, 0.0005900274409455859,
];

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

export const DECOMPOSITIONS: { readonly [K in ExprOp]?: Rule } = {
  // |x| < 0.55: the odd series (the exp form cancels near 0); beyond, (1 - e) / (1 + e) with
  // e = exp(-2|x|) <= 1, which never overflows.
  tanh: (r, [x]) => {
    const ax = r.f('abs', x);
    const small = r.f('mul', x, r.poly(r.f('mul', x, x), TANH_OVER_X));
    const e = r.f('exp', r.f('mul', r.lit(-2), ax));
    const big = r.f('div', r.f('sub', r.lit(1), e), r.f('add', r.lit(1), e));
    return r.where(r.test('lt', ax, r.lit(0.55)), small, r.where(r.test('lt', x, r.lit(0)), r.f('neg', big), big));
  },
  // exp(-|x|) never overflows.
  sigmoid: (r, [x]) => {
    const e = r.f('exp', r.f('neg', r.f('abs', x)));
    const s = r.f('div', r.lit(1), r.f('add', r.lit(1), e));
    return r.where(r.test('ge', x, r.lit(0)), s, r.f('mul', e, s));
  },
  // Near 0, log1p(x) = 2 atanh(s) with s = x / (2 + x), as the odd series through s^11.
  log1p: (r, [x]) => {
    const s = r.f('div', x, r.f('add', r.lit(2), x));
    const series = r.f(
      'mul',
      r.f('mul', r.lit(2), s),
      r.poly(r.f('mul', s, s), [1, 1 / 3, 1 / 5, 1 / 7, 1 / 9, 1 / 11]),
    );
    return r.where(r.test('lt', r.f('abs', x), r.lit(0.25)), series, r.f('log', r.f('add', r.lit(1), x)));
  },
  // Near 0 the Taylor series through x^10 / 10!, exp(x) - 1 beyond.
  expm1: (r, [x]) => {
    const coeffs = Array.from({ length: 10 }, (_, k) => 1 / factorial(k + 1));
    const series = r.f('mul', x, r.poly(x, coeffs));
    return r.where(r.test('lt', r.f('abs', x), r.lit(0.5)), series, r.f('sub', r.f('exp', x), r.lit(1)));
  },
  // Ties to even from floor: f = floor(x), d = x - f (exact in float32: Sterbenz's lemma, or
  // d = x when f = 0; and where it rounds, for x in (-0.5, 0), both sides give 0). A zero result
  // takes x's sign (x * 0), as numpy's round. Inf: d is NaN, the tie branch gives f + 1 = Inf.
  round: (r, [x]) => {
    const f = r.f('floor', x);
    const d = r.f('sub', x, f);
    const up = r.f('add', f, r.lit(1));
    const fEven = r.test('eq', r.f('sub', f, r.f('mul', r.lit(2), r.f('floor', r.f('mul', f, r.lit(0.5))))), r.lit(0));
    const tie = r.where(fEven, f, up);
    const rounded = r.where(r.test('gt', d, r.lit(0.5)), up, r.where(r.test('lt', d, r.lit(0.5)), f, tie));
    return r.where(r.test('eq', rounded, r.lit(0)), r.f('mul', x, r.lit(0)), rounded);
  },
  // Integer exponents up to 64 by square-and-multiply on |x| (exact where the products are), the
  // sign from the exponent's parity; a fractional exponent of a negative base is NaN; x^0.5 is
  // sqrt (correctly rounded, unlike pow); zero and infinite bases by their limits; other
  // exponents use pow of the positive base |x|. -0 counts as negative (1 / -0 < 0), as in Math.
  pow: (r, [x, y]) => {
    const ax = r.f('abs', x);
    const ay = r.f('abs', y);
    const isInt = r.test('eq', r.f('floor', y), y);
    let n = r.f('minimum', ay, r.lit(64));
    let base = ax;
    let acc = r.lit(1);
    for (let bit = 0; bit < 7; bit++) {
      const half = r.f('floor', r.f('mul', n, r.lit(0.5)));
      const odd = r.test('eq', r.f('sub', n, r.f('mul', r.lit(2), half)), r.lit(1));
      acc = r.where(odd, r.f('mul', acc, base), acc);
      if (bit < 6) base = r.f('mul', base, base);
      n = half;
    }
    const yPositive = r.test('gt', y, r.lit(0));
    const byInt = r.where(yPositive, acc, r.f('div', r.lit(1), acc));
    const zeroOrInf = r.or(r.test('eq', ax, r.lit(0)), r.test('eq', ax, r.lit(Infinity)));
    // 0^y and Inf^y: 0 or Inf by the signs of y and of log|x|.
    const limit = r.where(
      r.test('eq', ax, r.lit(0)),
      r.where(yPositive, r.lit(0), r.lit(Infinity)),
      r.where(yPositive, r.lit(Infinity), r.lit(0)),
    );
    const general = r.where(zeroOrInf, limit, r.f('pow', ax, y));
    const magnitude = r.where(r.and(isInt, r.test('le', ay, r.lit(64))), byInt, general);
    const oddInt = r.test(
      'eq',
      r.f('sub', ay, r.f('mul', r.lit(2), r.f('floor', r.f('mul', ay, r.lit(0.5))))),
      r.lit(1),
    );
    const sign = r.where(r.and(isInt, oddInt), r.lit(-1), r.lit(1));
    const negBase = r.where(r.or(isInt, zeroOrInf), r.f('mul', sign, magnitude), r.lit(NaN));
    const positive = r.where(r.test('eq', y, r.lit(0.5)), r.f('sqrt', ax), magnitude);
    const negative = r.or(r.test('lt', x, r.lit(0)), r.test('lt', r.f('div', r.lit(1), x), r.lit(0)));
    const finite = r.where(negative, negBase, positive);
    return r.where(r.test('eq', y, r.lit(0)), r.lit(1), r.where(r.test('ne', y, y), r.lit(NaN), finite));
  },
};

/** The ops that have a decomposition (a target must evaluate every other op natively). */
export const DECOMPOSABLE: ReadonlySet<ExprOp> = new Set(Object.keys(DECOMPOSITIONS) as ExprOp[]);

/**
 * Kernel `k` with every op outside `native` replaced by its decomposition
 * (the kernel itself when nothing needs rewriting). Expressions are rebuilt
 * with a fresh interning builder, so ids stay unique and shared values stay
 * shared. Decompositions are defined for float32 values only.
 */
export function decomposeKernel(k: Kernel, native: ReadonlySet<ExprOp>): Kernel {
  const needs = (e: Expr): boolean => e.kind === 'op' && !native.has(e.op);
  const seen = new Set<Expr>();
  let any = false;
  const scan = (e: Expr) => {
    if (seen.has(e) || any) return;
    seen.add(e);
    if (needs(e)) any = true;
    exprArgs(e).forEach(scan);
  };
  k.outputs.forEach((o) => scan(o.expr));
  if (!any) return k;

  const builder = new ExprBuilder();
  const rules = new RuleBuilder(builder);
  const memo = new Map<Expr, Expr>();
  // An indirect load's index values are expressions too: rebuilt, and wrapped again (still in range).
  const rebuildIndex = (at: Idx): Idx =>
    sym.mapValueAtoms(at, (atom) => sourceIndex(rebuild(atomSource(atom)), atom.size));
  const rebuild = (e: Expr): Expr => {
    let out = memo.get(e);
    if (out) return out;
    switch (e.kind) {
      case 'load':
        out = builder.load(e.input, rebuildIndex(e.at), e.dtype);
        break;
      case 'arg':
        out = builder.arg(e.slot, e.dtype);
        break;
      case 'lit':
        out = builder.lit(e.value, e.dtype);
        break;
      case 'index':
        out = builder.index(rebuildIndex(e.at));
        break;
      case 'reduce':
        out = builder.reduce(e.op, e.vars as LoopVar[], rebuild(e.body), e.dtype);
        break;
      case 'op':
        out = rewriteOp(e, e.args.map(rebuild));
        break;
    }
    memo.set(e, out);
    return out;
  };
  const rewriteOp = (e: OpExpr, args: Expr[]): Expr => {
    if (native.has(e.op)) return builder.op(e.op, args, e.dtype);
    const rule = DECOMPOSITIONS[e.op];
    if (!rule) throw new Error(`kernel ${k.name}: the target has no '${e.op}' and there is no decomposition of it`);
    if (e.dtype !== 'f32')
      throw new Error(`kernel ${k.name}: the decomposition of '${e.op}' is for f32, not ${e.dtype}`);
    return rule(rules, args);
  };
  return { ...k, outputs: k.outputs.map((o) => ({ ...o, expr: rebuild(o.expr) })) };
}

/** The plan with every kernel's non-native ops decomposed (`native` unset: the plan itself). */
export function decomposePlan(plan: KernelPlan, native: ReadonlySet<ExprOp> | undefined): KernelPlan {
  if (!native) return plan;
  const kernels = plan.kernels.map((k) => decomposeKernel(k, native));
  return kernels.every((k, i) => k === plan.kernels[i]) ? plan : { ...plan, kernels };
}

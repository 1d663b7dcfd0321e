/**
 * Activation functions as compositions of primitives, stable in value and
 * gradient over the float32 range: gelu (exact and tanh forms), silu,
 * leakyRelu, softplus and logSigmoid. int32 and bool inputs compute in
 * float32, as the other unary math does.
 *
 * Where a formula's factor x meets a factor that underflows to 0 (x · Φ(x),
 * x · sigmoid(x) at x = -Inf: -Inf · 0 = NaN), x is first raised to a bound
 * below which the product is 0 anyway, so the limit 0 comes out instead.
 */
import { LazygradError } from '../ir';
import { normalCdf } from './erf';
import { binary, cast, unary, where } from './ops';
import { checkOptions, describeValue, rules } from './option-check';
import { Tensor, type TensorLike } from './tensor-class';

const add = (a: TensorLike, b: TensorLike) => binary('add', a, b);
const mul = (a: TensorLike, b: TensorLike) => binary('mul', a, b);
const maximum = (a: TensorLike, b: TensorLike) => binary('maximum', a, b);
const minimum = (a: TensorLike, b: TensorLike) => binary('minimum', a, b);

/** The float32 operand of an activation (int32 and bool are converted, as in exp or tanh). */
function floatOperand(op: string, x: Tensor): Tensor {
  if (!(x instanceof Tensor)) throw new LazygradError(`${op}: expected a Tensor, got ${describeValue(x)}`);
  x._check(op);
  return x._dtype === 'f32' ? x : cast(x, 'float32');
}

export interface GeluOptions {
  /** false (default): x · Φ(x) with the exact normal CDF; true: the tanh approximation (PyTorch's 'tanh'). */
  approximate?: boolean;
}

const GELU_OPTIONS = { approximate: rules.boolean };
/** Below -40, x · Φ(x) and x · sigmoid(2u) are 0 in float32 (Φ(-40) ≈ 4e-350). */
const GELU_FLOOR = -40;

/**
 * gelu(x) = x · Φ(x), Φ the standard normal CDF (PyTorch's default); with
 * `approximate`, 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))), written as
 * x · sigmoid(2 √(2/π) (x + 0.044715 x³)) — the same function, without the
 * cancellation of 1 + tanh(u) for large negative u.
 */
export function gelu(x: Tensor, opts: GeluOptions = {}): Tensor {
  const { approximate = false } = checkOptions<GeluOptions>('gelu', opts, GELU_OPTIONS);
  const xf = floatOperand('gelu', x);
  const lower = maximum(xf, GELU_FLOOR);
  const clamped = minimum(lower, -GELU_FLOOR);
  if (!approximate) return mul(lower, normalCdf(clamped));
  const cube = mul(mul(clamped, clamped), clamped);
  const u = mul(add(clamped, mul(cube, 0.044715)), 2 * Math.sqrt(2 / Math.PI));
  return mul(lower, unary('sigmoid', u));
}

/** Below -200, x · sigmoid(x) is 0 in float32 (sigmoid(-200) ≈ 1e-87). */
const SILU_FLOOR = -200;

/** silu(x) = x · sigmoid(x) (swish). */
export function silu(x: Tensor): Tensor {
  const xf = floatOperand('silu', x);
  return mul(maximum(xf, SILU_FLOOR), unary('sigmoid', xf));
}

/** x for x > 0, slope · x otherwise (gradient `slope` at 0, as PyTorch). */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  if (typeof slope !== 'number' || !Number.isFinite(slope))
    throw new LazygradError(`leakyRelu: slope must be a finite number, got ${describeValue(slope)}`);
  const xf = floatOperand('leakyRelu', x);
  // A NaN fails the comparison and goes to x * slope, which is NaN too.
  return where(binary('gt', xf, 0), xf, mul(xf, slope));
}

/**
 * softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exp never
 * overflows, and for large negative x the result keeps its relative
 * accuracy (log1p of a tiny number). Gradient sigmoid(x), 1/2 at 0 (the
 * maximum's tie splits evenly; |x|'s gradient at 0 is 0).
 */
export function softplus(x: Tensor): Tensor {
  const xf = floatOperand('softplus', x);
  return add(maximum(xf, 0), unary('log1p', unary('exp', unary('neg', unary('abs', xf)))));
}

/** logSigmoid(x) = log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)) (= -softplus(-x)). */
export function logSigmoid(x: Tensor): Tensor {
  const xf = floatOperand('logSigmoid', x);
  return binary('sub', minimum(xf, 0), unary('log1p', unary('exp', unary('neg', unary('abs', xf)))));
}

/**
 * The error function and the standard normal CDF as compositions of
 * primitives, accurate to a few float32 ulp over the whole float32 range
 * (test/src/erf-gelu.test.ts checks them against a float64 reference), and
 * with relative accuracy in the tails, where erfc and Φ(x) for x < 0 are tiny.
 *
 * Two pieces, chosen by |z| (z = x for erf, x / √2 for Φ):
 *  - |z| < 0.5: the odd Taylor series (9 terms; the first omitted term is
 *    below 1e-12 relative there). For Φ the 1/√2 is folded into the
 *    coefficients, so no rounded scaling enters.
 *  - |z| >= 0.5: erfc(z) = exp(-z²) · g(z), where g(z) = erfc(z)·exp(z²)
 *    is smooth and slowly varying (≈ 1 / (z √π) for large z). g is fitted
 *    as t · Q(t) with t = 1 / (1 + z/2) ∈ (0, 0.8] and Q a polynomial of
 *    degree 11, by weighted least squares on relative error with Lawson
 *    reweighting against a float64 erfc (series below z = 2, continued
 *    fraction above): max relative error 8.5e-10 in float64, about 3 ulp
 *    when every step rounds to float32 (the rounding of t dominates).
 *    exp(-z²) is computed as exp(-h²) · exp(-l (z + h)) with h = floor(16 z) / 16
 *    (h² is exact in float32) and l = z - h, so the rounding of z² — an
 *    absolute error of up to 4e-6 near z = 10, a relative error of the
 *    exponential as large — never enters.
 * Arguments are clamped where the result is already 0 or ±1 in float32
 * (|z| = 10 for erf, |x| = 40 for Φ), which keeps every intermediate of both
 * pieces finite, so the gradient of the piece not taken is exactly 0.
 */
import { binary, unary, where } from './ops';
import type { Tensor, TensorLike } from './tensor-class';

const add = (a: TensorLike, b: TensorLike) => binary('add', a, b);
const sub = (a: TensorLike, b: TensorLike) => binary('sub', a, b);
const mul = (a: TensorLike, b: TensorLike) => binary('mul', a, b);
const div = (a: TensorLike, b: TensorLike) => binary('div', a, b);
const lt = (a: TensorLike, b: TensorLike) => binary('lt', a, b);

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
const TAYLOR_TERMS = 9;
/** erf(x) = x · Σ ERF_TAYLOR[n] · (x²)^n. */
const ERF_TAYLOR = Array.from(
  { length: TAYLOR_TERMS },
  (_, n) => ((2 / Math.sqrt(Math.PI)) * (-1) ** n) / (factorial(n) * (2 * n + 1)),
);
/** Φ(x) - 1/2 = x · Σ CDF_TAYLOR[n] · (x²)^n (erf's series at x / √2, over 2). */
const CDF_TAYLOR = Array.from(
  { length: TAYLOR_TERMS },
  (_, n) => (-1) ** n / (Math.sqrt(2 * Math.PI) * 2 ** n * factorial(n) * (2 * n + 1)),
);
/** g(z) = erfc(z) exp(z²) ≈ t · Σ G_FIT[k] t^k, t = 1 / (1 + z/2), for z >= 0.5 (fit described above). */
const G_FIT = [
  0.2820947920090984, 0.2820947098989491, 0.246837584155316, 0.1762089738428776, 0.08481676134936268,
  -0.010624560384429094, -0.03742139174137602, -0.07576117213655155, -0.05007313608662946, 0.2489830173315169,
  -0.19989423449907587, 0.05276313712662365,
];

/** Horner evaluation of Σ coeffs[k] · x^k. */
function poly(x: Tensor, coeffs: readonly number[]): Tensor {
  let acc: Tensor = add(mul(x, coeffs[coeffs.length - 1]), coeffs[coeffs.length - 2]);
  for (let k = coeffs.length - 3; k >= 0; k--) acc = add(mul(acc, x), coeffs[k]);
  return acc;
}

/** g(z) = erfc(z) · exp(z²) for z >= 0.5 (finite for any z >= 0). */
function scaledErfc(z: Tensor): Tensor {
  const t = div(1, add(mul(z, 0.5), 1));
  return mul(t, poly(t, G_FIT));
}

/** exp(-a² · scale) for 0 <= a <= 40 without the rounding of a² (scale 1 or 1/2, so h² · scale is exact). */
function expNegSquare(a: Tensor, scale: number): Tensor {
  const h = div(unary('floor', mul(a, 16)), 16);
  const l = sub(a, h);
  return mul(unary('exp', mul(mul(h, h), -scale)), unary('exp', mul(mul(l, add(a, h)), -scale)));
}

const minimum = (a: TensorLike, b: TensorLike) => binary('minimum', a, b);

/** The error function of a float32 tensor. */
export function erf(x: Tensor): Tensor {
  const clamped = minimum(binary('maximum', x, -10), 10);
  const ax = unary('abs', clamped);
  const small = mul(clamped, poly(mul(clamped, clamped), ERF_TAYLOR));
  // erf(|x|) = 1 - erfc(|x|); erfc(0.5) ≈ 0.48, so the subtraction loses nothing.
  const large = sub(1, mul(expNegSquare(ax, 1), scaledErfc(ax)));
  return where(lt(ax, 0.5), small, mul(unary('sign', x), large));
}

/**
 * Φ(x), the standard normal CDF, of a float32 tensor whose values the caller
 * has clamped to [-40, 40] (beyond it Φ is 0 or 1 in float32). The lower tail
 * Φ(x) = erfc(-x/√2) / 2 keeps its relative accuracy down to the smallest
 * subnormal.
 */
export function normalCdf(x: Tensor): Tensor {
  const ax = unary('abs', x);
  const small = add(mul(x, poly(mul(x, x), CDF_TAYLOR)), 0.5);
  const tail = mul(mul(expNegSquare(ax, 0.5), scaledErfc(mul(ax, Math.SQRT1_2))), 0.5);
  const large = where(lt(x, 0), tail, sub(1, tail));
  // |x| < 0.75 keeps x/√2 inside the fit's range (z >= 0.5) on the other side.
  return where(lt(ax, 0.75), small, large);
}

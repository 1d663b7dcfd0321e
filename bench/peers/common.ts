/**
 * Inputs and numerical checks shared by every side of `--peers`: the same
 * seeded plain-JS generator in every process gives every library the same
 * inputs (so all of them must print the same W4 losses), and every side's
 * results are compared with the hand-written loops of bench/reference.ts
 * before it is timed, so a mis-set-up library cannot look fast.
 */
import {
  type HandMlp,
  MLP_SIZES,
  W4_BATCH,
  W4_LR,
  handScratch,
  handStep,
  matmulNaive,
  softmaxRows,
  w2HandFused,
} from '../reference';
import type { Check } from './protocol';

export const W2_SIZE = 1 << 20;
export const W3_ROWS = 4096;
export const W3_COLS = 1024;
/** Steps of W4's loss-decreasing check. */
export const W4_CHECK_STEPS = 5;

/** mulberry32: a small seeded generator, the same in every process. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function uniform(n: number, lo: number, hi: number, seed: number): Float32Array {
  const next = generator(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * next();
  return a;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN wins
  }
  return m;
}

export const check = (what: string, err: number, tol: number): Check => ({ what, err, tol, ok: err <= tol });

// ------------------------------------------------------------------ W1

export const w1Inputs = (n: number) => ({ a: uniform(n * n, -1, 1, 1000 + n), b: uniform(n * n, -1, 1, 2000 + n) });

/** The small matmul every side checks once, whatever N it is timed at. */
export const W1_CHECK_N = 64;

/** Full check of a 64×64 product against the naive loop. */
export function checkSmallMatmul(c: ArrayLike<number>): Check {
  const n = W1_CHECK_N;
  const { a, b } = w1Inputs(n);
  const ref = new Float32Array(n * n);
  matmulNaive(a, b, ref, n);
  return check(`matmul ${n}×${n} vs naive loop`, maxAbsDiff(c, ref), 1e-4 * n);
}

/** Spot check of an N×N product: 256 entries recomputed as float64 dot products. */
export function spotCheckMatmul(a: Float32Array, b: Float32Array, c: ArrayLike<number>, n: number): Check {
  const next = generator(n);
  let err = c.length === n * n ? 0 : Infinity;
  for (let s = 0; s < 256 && err !== Infinity; s++) {
    const i = Math.floor(next() * n),
      j = Math.floor(next() * n);
    let acc = 0;
    for (let k = 0; k < n; k++) acc += a[i * n + k] * b[k * n + j];
    const d = Math.abs(c[i * n + j] - acc);
    if (!(d <= err)) err = d;
  }
  return check(`matmul ${n}×${n}, 256 entries vs float64 dot products`, err, 1e-4 * n);
}

// ------------------------------------------------------------------ W2

export const w2Input = () => uniform(W2_SIZE, -2, 2, 2);

export function checkW2(y: ArrayLike<number>): Check {
  const x = w2Input();
  const ref = new Float32Array(x.length);
  w2HandFused(x, ref);
  return check('W2 vs hand loop', maxAbsDiff(y, ref), 1e-4);
}

// ------------------------------------------------------------------ W3

export const w3Input = () => uniform(W3_ROWS * W3_COLS, -4, 4, 3);

export function checkW3(y: ArrayLike<number>): Check {
  const x = w3Input();
  const ref = new Float32Array(x.length);
  softmaxRows(x, ref, W3_ROWS, W3_COLS);
  return check('W3 softmax vs hand loop', maxAbsDiff(y, ref), 1e-5);
}

// ------------------------------------------------------------------ W4

export interface W4Inputs {
  params: HandMlp;
  /** [batch, 784] in [0, 1). */
  x: Float32Array;
  labels: Int32Array;
  /** [batch, 10] one-hot of `labels`, for libraries that take the labels that way. */
  oneHot: Float32Array;
}

/** W4's inputs; the parameters as PyTorch initialises them (U(±1/√fanIn)); fresh arrays on every call. */
export function w4Inputs(): W4Inputs {
  const [i, h, o] = MLP_SIZES,
    B = W4_BATCH;
  const params: HandMlp = {
    w1: uniform(i * h, -1 / Math.sqrt(i), 1 / Math.sqrt(i), 41),
    b1: uniform(h, -1 / Math.sqrt(i), 1 / Math.sqrt(i), 42),
    w2: uniform(h * o, -1 / Math.sqrt(h), 1 / Math.sqrt(h), 43),
    b2: uniform(o, -1 / Math.sqrt(h), 1 / Math.sqrt(h), 44),
  };
  const x = uniform(B * i, 0, 1, 45);
  const labels = Int32Array.from(uniform(B, 0, o, 46), (v) => Math.min(o - 1, Math.floor(v)));
  const oneHot = new Float32Array(B * o);
  labels.forEach((c, r) => (oneHot[r * o + c] = 1));
  return { params, x, labels, oneHot };
}

let handRef: { losses: number[]; after1: HandMlp } | undefined;

/** The hand-written SGD steps from w4Inputs(): W4_CHECK_STEPS losses and the parameters after one step. */
function w4Reference(): { losses: number[]; after1: HandMlp } {
  if (handRef) return handRef;
  const [i, h, o] = MLP_SIZES;
  const { params, x, labels } = w4Inputs();
  const s = handScratch(W4_BATCH, i, h, o);
  const losses: number[] = [];
  let after1: HandMlp | undefined;
  for (let k = 0; k < W4_CHECK_STEPS; k++) {
    losses.push(handStep(params, s, x, labels, W4_BATCH, i, h, o, W4_LR));
    after1 ??= { w1: params.w1.slice(), b1: params.b1.slice(), w2: params.w2.slice(), b2: params.b2.slice() };
  }
  return (handRef = { losses, after1: after1! });
}

/**
 * Checks of a side's W4 steps from w4Inputs(): the parameters after its first step and
 * its losses against the hand step, and that its loss decreases.
 */
export function checkW4(after1: HandMlp, losses: number[]): { checks: Check[]; note: string } {
  const ref = w4Reference();
  const pe = Math.max(...(['w1', 'b1', 'w2', 'b2'] as const).map((k) => maxAbsDiff(after1[k], ref.after1[k])));
  const le = Math.max(...ref.losses.map((l, k) => Math.abs((losses[k] ?? NaN) - l) / Math.abs(l)));
  const falls = losses.every((l, k) => k === 0 || l < losses[k - 1]);
  return {
    checks: [
      check('W4 parameters after 1 SGD step vs hand step', pe, 1e-5),
      check(`W4 losses of ${W4_CHECK_STEPS} steps vs hand steps (relative)`, le, 1e-4),
      check(`W4 loss decreases over ${W4_CHECK_STEPS} steps`, falls ? 0 : 1, 0),
    ],
    note: `W4 losses ${losses.map((l) => l.toFixed(6)).join(' → ')} (hand: ${ref.losses[0].toFixed(6)} → … → ${ref.losses[ref.losses.length - 1].toFixed(6)})`,
  };
}

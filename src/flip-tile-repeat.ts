/**
 * flip, tile and repeat (numpy semantics), as views: a slice with step -1,
 * and reshape + expand + reshape (index arithmetic; fused consumers read
 * the input directly, nothing is copied until a result is materialised).
 */
import { ShapeError, checkSize } from '../ir';
import { describeValue } from './option-check';
import { axisOf, expand, normAxes, reshape, slice } from './ops';
import type { Axis, Tensor } from './tensor-class';

/** Reverses the order of elements along `axes` (all axes when omitted). */
export function flip(x: Tensor, axes?: Axis): Tensor {
  x._check('flip');
  const flipped = new Set(normAxes(x, axes, 'flip'));
  if (flipped.size === 0) return x;
  const steps = x.shape.map((_, d) => (flipped.has(d) ? -1 : 1));
  return slice(
    x,
    x.shape.map(() => null),
    undefined,
    steps,
  );
}

function nonNegativeInt(op: string, what: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 0)
    throw new ShapeError(`${op}: ${what} must be a non-negative integer, got ${describeValue(v)}`);
  return v as number;
}

/**
 * Repeats the whole tensor `reps[d]` times along each axis d (numpy's tile):
 * a number is one repetition count for the last axis; when reps has more
 * entries than x has axes, x gains leading axes of size 1, and when fewer,
 * reps is padded with leading 1s.
 */
export function tile(x: Tensor, reps: number | readonly number[]): Tensor {
  x._check('tile');
  if (typeof reps !== 'number' && !Array.isArray(reps))
    throw new ShapeError(
      `tile: reps must be a non-negative integer or an array of them (one per axis), got ${describeValue(reps)}`,
    );
  const list = (typeof reps === 'number' ? [reps] : [...reps]).map((r, i) =>
    nonNegativeInt('tile', typeof reps === 'number' ? 'reps' : `reps[${i}]`, r),
  );
  const nd = Math.max(x.ndim, list.length);
  const dims = [...Array<number>(nd - x.ndim).fill(1), ...x.shape];
  const counts = [...Array<number>(nd - list.length).fill(1), ...list];
  checkSize(
    dims.map((d, i) => d * counts[i]),
    'tile',
  );
  // [d0, d1, ...] -> [1, d0, 1, d1, ...] -> [r0, d0, r1, d1, ...] -> [r0 * d0, r1 * d1, ...]
  const spaced = reshape(
    x,
    dims.flatMap((d) => [1, d]),
  );
  const repeated = expand(
    spaced,
    dims.flatMap((d, i) => [counts[i], d]),
  );
  return reshape(
    repeated,
    dims.map((d, i) => d * counts[i]),
  );
}

/**
 * Repeats each element `n` times along `axis`, next to itself (numpy's
 * repeat with one count; no axis: of the flattened tensor).
 */
export function repeat(x: Tensor, n: number, axis?: number): Tensor {
  x._check('repeat');
  nonNegativeInt('repeat', 'the count n', n);
  if (axis === undefined || axis === null) return repeat(reshape(x, [-1]), n, 0);
  const ax = axisOf('repeat', axis, x.ndim);
  const s = x.shape;
  checkSize([...s.slice(0, ax), s[ax] * n, ...s.slice(ax + 1)], 'repeat');
  // [..., d, ...] -> [..., d, 1, ...] -> [..., d, n, ...] -> [..., d * n, ...]
  const spaced = reshape(x, [...s.slice(0, ax + 1), 1, ...s.slice(ax + 1)]);
  const repeated = expand(spaced, [...s.slice(0, ax + 1), n, ...s.slice(ax + 1)]);
  return reshape(repeated, [...s.slice(0, ax), s[ax] * n, ...s.slice(ax + 1)]);
}

/** Shapes, strides, broadcasting and axis normalisation. */

export type Shape = readonly number[];

import { ShapeError, show } from './errors';

export function fmtShape(s: Shape): string {
  return `[${s.join(',')}]`;
}

export function sizeOf(s: Shape): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}

/** The most elements (and the longest axis) a tensor may have: indices are int32 on every backend. */
export const MAX_ELEMENTS = 2 ** 31 - 1;

/**
 * Throws naming `op` when a shape is too large for any backend to hold, so a
 * huge result fails where it is built instead of running a 1e18-step loop.
 * Axes are bounded too: a zero-element tensor with a 2^40 axis would still
 * loop over that axis.
 */
export function checkSize(s: Shape, op: string): void {
  const n = sizeOf(s);
  if (n > MAX_ELEMENTS)
    throw new ShapeError(
      `${op}: shape ${fmtShape(s)} has ${n} elements; a tensor may have at most 2^31 - 1 = ${MAX_ELEMENTS}`,
    );
  const long = s.find((d) => d > MAX_ELEMENTS);
  if (long !== undefined)
    throw new ShapeError(
      `${op}: shape ${fmtShape(s)} has an axis of length ${long}; an axis may be at most 2^31 - 1 = ${MAX_ELEMENTS} long`,
    );
}

export function stridesOf(s: Shape): number[] {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** numpy broadcasting of two shapes; undefined when they are incompatible. */
export function broadcastShapes(a: Shape, b: Shape): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Normalises a possibly negative axis; throws naming `op` when out of range. */
export function normAxis(axis: number, ndim: number, op: string): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    throw new ShapeError(
      `${op}: axis ${show(axis)} is out of range for a tensor of rank ${ndim} (expected -${ndim} <= axis < ${ndim})`,
    );
  }
  return axis < 0 ? axis + ndim : axis;
}

export function isPermutation(perm: readonly number[], n: number): boolean {
  if (perm.length !== n) return false;
  const seen = new Set<number>();
  for (const p of perm) {
    if (!Number.isInteger(p) || p < 0 || p >= n || seen.has(p)) return false;
    seen.add(p);
  }
  return true;
}

/**
 * Gradients of take / gather / nn.embedding: checkGrad (float64 central
 * differences) with duplicate and negative indices on every axis, and the
 * scatter-add itself against a plain-JS reference (duplicates summed,
 * untouched entries exactly zero).
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import { expectClose, expectGradOk, flat, rand, values, weightsFor } from './helpers';

const ints = (shape: number[], vals: number[]) => lg.tensor(Int32Array.from(vals)).reshape(shape);

/**
 * d/dx of sum(take(x, idx, axis) * W) for x of `shape`: W scattered back, each entry
 * added to the element its index read (plain loops over the output's multi-index).
 */
function refTakeGrad(shape: number[], idx: number[], idxShape: number[], axis: number, w: number[]): number[] {
  const n = shape[axis];
  const before = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const after = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const count = idxShape.reduce((a, b) => a * b, 1);
  const dx = new Array<number>(before * n * after).fill(0);
  for (let a = 0; a < before; a++)
    for (let b = 0; b < count; b++)
      for (let c = 0; c < after; c++) {
        const i = idx[b] < 0 ? idx[b] + n : idx[b];
        dx[(a * n + i) * after + c] += w[(a * count + b) * after + c];
      }
  return dx;
}

describe('take / gather: checkGrad', () => {
  for (const axis of [0, 1, -1]) {
    it(`take axis ${axis} with duplicate and negative indices`, () => {
      const x = rand([3, 4], -1, 1, 11);
      const n = x.shape[axis < 0 ? axis + 2 : axis];
      const idx = ints([2, 3], [0, n - 1, -1, 0, 1, 0]);
      expectGradOk((v) => lg.take(v, idx, axis), [x]);
      // In a chain whose cotangent depends on the gathered values.
      expectGradOk((v) => lg.take(v, idx, axis).tanh().mul(v.sum()), [x]);
    });
  }
  it('take without an axis (flattened) and with a 0-d index', () => {
    const x = rand([2, 3], -1, 1, 12);
    expectGradOk((v) => lg.take(v, ints([4], [5, -6, 5, 2])), [x]);
    expectGradOk((v) => lg.take(v, ints([], [-1]), 1), [x]);
  });
  for (const axis of [0, 1]) {
    it(`gather axis ${axis}, broadcasting indices over the other axis`, () => {
      const x = rand([3, 4], -1, 1, 13);
      expectGradOk(
        (v) =>
          v.gather(
            axis,
            axis === 0
              ? ints([5, 4], values([5, 4], -3, 3, 2).map(Math.trunc))
              : ints([3, 6], values([3, 6], -4, 4, 3).map(Math.trunc)),
          ),
        [x],
      );
      expectGradOk((v) => v.gather(axis, axis === 0 ? ints([2, 1], [-1, 2]) : ints([1, 3], [3, -4, 3])), [x]);
    });
  }
  it('nn.embedding: the table gradient of a small loss', () => {
    const w = rand([5, 3], -1, 1, 14);
    const ids = ints([2, 4], [4, 0, 4, -1, 2, 2, 2, 0]);
    expectGradOk((t) => lg.nn.embedding({ w: t }, ids).sigmoid(), [w]);
  });
});

describe('take: the scatter-add against a plain-JS reference', () => {
  for (const [shape, axis, idxShape, idx] of [
    [[4, 3], 0, [5], [2, 2, -1, 0, 2]],
    [[2, 5, 3], 1, [2, 2], [4, -5, 4, 4]],
    [[3, 2], 1, [3], [-1, -1, -2]],
  ] as [number[], number, number[], number[]][]) {
    it(`x ${JSON.stringify(shape)} axis ${axis} indices ${JSON.stringify(idx)}`, () => {
      const x = rand(shape, -1, 1, 15);
      const outShape = [...shape.slice(0, axis), ...idxShape, ...shape.slice(axis + 1)];
      const W = weightsFor(outShape);
      const g = lg.grad((v: lg.Tensor) => lg.take(v, ints(idxShape, idx), axis).mul(W).sum())(x);
      expect(g.shape).toEqual(shape);
      expectClose(g, refTakeGrad(shape, idx, idxShape, axis, flat(W)), 1e-6, 1e-6);
    });
  }
  it('gather with indices that vary on every axis (the general scatter-add form)', () => {
    const x = rand([3, 4], -1, 1, 17);
    const idx = [0, -1, 0, 3, 3, 2, -4, -4, 1, 1, 1, 1, 2, -2, 0, 0, 3, 3];
    const W = weightsFor([3, 6]);
    const g = lg.grad((v: lg.Tensor) =>
      v
        .gather(1, ints([3, 6], idx))
        .mul(W)
        .sum(),
    )(x);
    const w = flat(W);
    const want = new Array<number>(12).fill(0);
    for (let r = 0; r < 3; r++)
      for (let m = 0; m < 6; m++) {
        const i = idx[r * 6 + m];
        want[r * 4 + (i < 0 ? i + 4 : i)] += w[r * 6 + m];
      }
    expectClose(g, want, 1e-6, 1e-6);
  });
  it('rows never read get exactly zero', () => {
    const x = rand([6, 2], -1, 1, 16);
    const g = lg.grad((v: lg.Tensor) =>
      lg
        .take(v, ints([3], [1, -2, 1]), 0)
        .exp()
        .sum(),
    )(x);
    const rows = g.toArray() as number[][];
    for (const r of [0, 2, 3, 5]) expect(rows[r]).toEqual([0, 0]);
    expect(rows[1][0]).toBeGreaterThan(0);
  });
});

/**
 * flip, tile and repeat against plain-JS references of numpy's flip, tile
 * and repeat (index maps written out here), on the backend of the vitest
 * project: every axis set, reps shorter and longer than the rank, zero
 * counts, int32 and bool, views feeding fused kernels, and gradients (the
 * adjoint index maps: flip back, sum the copies). Values are moved, never
 * computed, so results must be exact.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import * as R from './reference';

/** out[idx] = a[map(idx)] over the output shape. */
function gatherRef(a: R.ND, shape: number[], map: (idx: number[]) => number[]): R.ND {
  return R.nd(shape, (i) => R.get(a, map(R.unravel(i, shape))));
}

const flipRef = (a: R.ND, axes: number[]) =>
  gatherRef(a, a.shape, (idx) => idx.map((v, d) => (axes.includes(d) ? a.shape[d] - 1 - v : v)));

function tileRef(a: R.ND, reps: number[]): R.ND {
  const nd = Math.max(a.shape.length, reps.length);
  const src = R.reshape(a, [...Array(nd - a.shape.length).fill(1), ...a.shape]);
  const r = [...Array(nd - reps.length).fill(1), ...reps];
  return gatherRef(
    src,
    src.shape.map((d, i) => d * r[i]),
    (idx) => idx.map((v, d) => v % src.shape[d]),
  );
}

function repeatRef(a: R.ND, n: number, axis: number): R.ND {
  const shape = a.shape.map((d, i) => (i === axis ? d * n : d));
  return gatherRef(a, shape, (idx) => idx.map((v, d) => (d === axis ? Math.floor(v / n) : v)));
}

const rng = R.mulberry32(21);
const a = R.f32(R.randND(rng, [2, 3, 4]));
const x = () => lg.tensor(R.toNested(a));
const exact = (got: lg.Tensor, want: R.ND) => R.expectClose(got, want, 0, 0);

describe('flip', () => {
  for (const axes of [undefined, 0, 1, 2, -1, [0, 2], [1, -1], [0, 1, 2]] as const) {
    it(`axes ${JSON.stringify(axes)}`, () => {
      const list = axes === undefined ? [0, 1, 2] : R.normAxes(axes as number | number[], 3);
      exact(x().flip(axes as number | number[] | undefined), flipRef(a, list));
    });
  }

  it('a 0-d tensor and an empty axis list are unchanged; int32 and bool keep their dtype', () => {
    expect(lg.tensor(5).flip().item()).toBe(5);
    exact(x().flip([]), a);
    const i = lg.tensor(Int32Array.from([1, 2, 3])).flip();
    expect(i.dtype).toBe('int32');
    expect(i.toArray()).toEqual([3, 2, 1]);
    expect(lg.tensor([true, false, false]).flip().toArray()).toEqual([false, false, true]);
  });

  it('gradient flips the cotangent back', () => {
    const w = R.f32(R.randND(rng, [2, 3, 4]));
    const W = lg.tensor(R.toNested(w));
    const g = lg.grad((t: lg.Tensor) => t.flip([0, 2]).mul(W).sum())(x()) as lg.Tensor;
    exact(g, flipRef(w, [0, 2]));
  });
});

describe('tile', () => {
  const cases: (number | number[])[] = [2, [2], [1, 3], [2, 1, 2], [3, 1, 1, 2], [1, 0, 1], [0]];
  for (const reps of cases) {
    it(`reps ${JSON.stringify(reps)}`, () => {
      exact(x().tile(reps), tileRef(a, typeof reps === 'number' ? [reps] : reps));
    });
  }

  it('of a 1-D and a 0-d tensor (numpy: reps longer than the rank add leading axes)', () => {
    expect(lg.tensor([1, 2]).tile([2, 2]).toArray()).toEqual([
      [1, 2, 1, 2],
      [1, 2, 1, 2],
    ]);
    expect(lg.tensor(7).tile(3).toArray()).toEqual([7, 7, 7]);
  });

  it('fused: tile feeding an add reads the input through index arithmetic (one kernel)', () => {
    const f = (t: lg.Tensor) => t.tile([2, 2, 1]).add(1);
    const lowered = lg.jit(f).lower(x());
    expect(lowered.stats().kernels).toBe(1);
    exact(
      lg.jit(f)(x()),
      R.map(tileRef(a, [2, 2, 1]), (v) => Math.fround(v + 1)),
    );
  });

  it('gradient sums the cotangents of the copies', () => {
    const g = lg.grad((t: lg.Tensor) =>
      t
        .tile([2, 1, 3])
        .mul(lg.arange(4 * 3 * 12).reshape([4, 3, 12]))
        .sum(),
    )(x()) as lg.Tensor;
    // Copy (r0, r2) of element (i, j, k) sits at (r0 * 2 + i, j, r2 * 4 + k) in the [4, 3, 12] tile.
    const w = R.nd([4, 3, 12], (i) => i);
    const want = R.nd([2, 3, 4], (i) => {
      const [p, q, k] = R.unravel(i, [2, 3, 4]);
      let s = 0;
      for (let r0 = 0; r0 < 2; r0++) for (let r2 = 0; r2 < 3; r2++) s += R.get(w, [r0 * 2 + p, q, r2 * 4 + k]);
      return s;
    });
    exact(g, want);
  });
});

describe('repeat', () => {
  for (const [n, axis] of [
    [2, 0],
    [3, 1],
    [2, 2],
    [2, -1],
    [1, 1],
    [0, 1],
  ] as const) {
    it(`n ${n} along axis ${axis}`, () => {
      exact(x().repeat(n, axis), repeatRef(a, n, R.normAxis(axis, 3)));
    });
  }

  it('no axis: each element of the flattened tensor, next to itself (numpy)', () => {
    expect(
      lg
        .tensor([
          [1, 2],
          [3, 4],
        ])
        .repeat(2)
        .toArray(),
    ).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    expect(
      lg
        .tensor(Int32Array.from([5, -6]))
        .repeat(3)
        .toArray(),
    ).toEqual([5, 5, 5, -6, -6, -6]);
  });

  it('gradient sums each element over its n copies', () => {
    const w = R.f32(R.randND(rng, [2, 9, 4]));
    const W = lg.tensor(R.toNested(w));
    const g = lg.grad((t: lg.Tensor) => t.repeat(3, 1).mul(W).sum())(x()) as lg.Tensor;
    const want = R.nd([2, 3, 4], (i) => {
      const [p, q, k] = R.unravel(i, [2, 3, 4]);
      return [0, 1, 2].reduce((s, c) => s + R.get(w, [p, q * 3 + c, k]), 0);
    });
    R.expectClose(g, want, 1e-6, 1e-6);
  });
});

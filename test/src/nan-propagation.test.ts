/** Issue 13 item 4: NaN propagates (relu, maximum/minimum, max/min, maxPool2d); argmax/argmin give the first NaN. */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

const withNaN = () => lg.tensor([1, NaN, 3]);

describe('NaN propagation', () => {
  it('relu keeps NaN, eagerly and under jit', () => {
    expect(withNaN().relu().toArray()).toEqual([1, NaN, 3]);
    expect(lg.tensor([-2, NaN, 0, 2]).relu().toArray()).toEqual([0, NaN, 0, 2]);
    expect(
      lg
        .jit((x: lg.Tensor) => x.relu())(lg.tensor([NaN, -1]))
        .toArray(),
    ).toEqual([NaN, 0]);
  });

  it('maximum/minimum and max/min reductions give NaN', () => {
    expect(withNaN().maximum(2).toArray()).toEqual([2, NaN, 3]);
    expect(lg.tensor(2).minimum(withNaN()).toArray()).toEqual([1, NaN, 2]);
    expect(withNaN().max().item()).toBeNaN();
    expect(withNaN().min().item()).toBeNaN();
    expect(
      lg
        .tensor([
          [1, NaN],
          [3, 4],
        ])
        .max(1)
        .toArray(),
    ).toEqual([NaN, 4]);
  });

  it('maxPool2d gives NaN for a window holding one', () => {
    const x = lg.tensor([1, 2, NaN, 4, 5, 6, 7, 8]).reshape([1, 1, 2, 4]);
    expect(lg.maxPool2d(x, 2).toArray()).toEqual([[[[6, NaN]]]]);
  });

  it('argmax/argmin return the first NaN', () => {
    expect(withNaN().argmax().item()).toBe(1);
    expect(withNaN().argmin().item()).toBe(1);
    expect(lg.tensor([NaN, 5, NaN]).argmax().item()).toBe(0);
    expect(
      lg
        .tensor([
          [1, 2, NaN, NaN],
          [4, 3, 2, 1],
        ])
        .argmax(1)
        .toArray(),
    ).toEqual([2, 0]);
    expect(
      lg
        .tensor([
          [1, 2, NaN, NaN],
          [4, 3, 2, 1],
        ])
        .argmin(1)
        .toArray(),
    ).toEqual([2, 3]);
    // Without NaN: unchanged (first index of the maximum).
    expect(lg.tensor([3, 1, 3]).argmax().item()).toBe(0);
    expect(lg.tensor([3, 1, 1]).argmin().item()).toBe(1);
  });
});

describe('subgradient conventions unchanged', () => {
  it('relu has gradient 0 at 0 and 1 above', () => {
    const g = lg.grad((x: lg.Tensor) => x.relu().sum())(lg.tensor([-1, 0, 2]));
    expect(g.toArray()).toEqual([0, 0, 1]);
  });

  it('maximum/minimum split ties evenly', () => {
    const [ga, gb] = lg.grad((a: lg.Tensor, b: lg.Tensor) => a.maximum(b).sum(), { argnums: [0, 1] })(
      lg.tensor([1, 2, 3]),
      lg.tensor([2, 2, 1]),
    );
    expect(ga.toArray()).toEqual([0, 0.5, 1]);
    expect(gb.toArray()).toEqual([1, 0.5, 0]);
    const gm = lg.grad((a: lg.Tensor) => a.minimum(2).sum())(lg.tensor([1, 2, 3]));
    expect(gm.toArray()).toEqual([1, 0.5, 0]);
  });

  it('max/min reductions and maxPool2d split ties among the tied elements', () => {
    expect(
      lg
        .grad((x: lg.Tensor) => x.max())(lg.tensor([2, 1, 2]))
        .toArray(),
    ).toEqual([0.5, 0, 0.5]);
    expect(
      lg
        .grad((x: lg.Tensor) => x.min())(lg.tensor([1, 1, 1, 2]))
        .toArray(),
    ).toEqual([1 / 3, 1 / 3, 1 / 3, 0].map(Math.fround));
    const x = lg.tensor([5, 5, 1, 0]).reshape([1, 1, 2, 2]);
    expect(
      lg
        .grad((t: lg.Tensor) => lg.maxPool2d(t, 2).sum())(x)
        .reshape([-1])
        .toArray(),
    ).toEqual([0.5, 0.5, 0, 0]);
  });
});

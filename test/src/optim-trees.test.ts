/**
 * Optimiser updates need gradient, state and parameter trees that match in
 * structure, shape and dtype; a mismatch names the key path and both sides
 * (a broadcasting gradient must never change a parameter's shape).
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

type T = lg.Tensor;
const optimisers: [string, () => lg.optim.Optimizer<unknown>][] = [
  ['optim.sgd', () => lg.optim.sgd({ lr: 0.1 }) as lg.optim.Optimizer<unknown>],
  ['optim.sgd', () => lg.optim.sgd({ lr: 0.1, momentum: 0.9 }) as lg.optim.Optimizer<unknown>],
  ['optim.adam', () => lg.optim.adam({ lr: 0.1 }) as lg.optim.Optimizer<unknown>],
];

describe('optimiser trees must match', () => {
  for (const [name, make] of optimisers) {
    it(`${name}: a gradient that broadcasts against its parameter is an error naming the key`, () => {
      const opt = make();
      const p = { a: lg.ones([2]) };
      const run = () => opt.update({ a: lg.ones([3, 2]) }, opt.init(p), p);
      expect(run).toThrow(lg.LazygradError);
      expect(run).toThrow(
        new RegExp(`^${name}\\.update: grads\\.a has shape \\[3,2\\] but params\\.a has shape \\[2\\]`),
      );
    });

    it(`${name}: a nested key path is named (layers.0.w)`, () => {
      const opt = make();
      const p = { layers: [{ w: lg.ones([2, 2]), b: lg.ones([2]) }] };
      const g = { layers: [{ w: lg.ones([2, 1]), b: lg.ones([2]) }] };
      expect(() => opt.update(g, opt.init(p), p)).toThrow(/layers\.0\.w .*\[2,1\].*\[2,2\]/);
    });

    it(`${name}: a gradient tree of another structure names the path and both structures`, () => {
      const opt = make();
      const p = { a: lg.ones([2]), b: lg.ones([1]) };
      const run = () => opt.update({ a: lg.ones([2]) }, opt.init(p), p);
      expect(run).toThrow(lg.LazygradError);
      expect(run).toThrow(/grads and params differ at the root: grads has keys \{a\}, params has keys \{a, b\}/);
      expect(run).not.toThrow(/^treeMap: trees have different structures$/);
    });

    it(`${name}: a dtype mismatch is an error`, () => {
      const opt = make();
      const p = { a: lg.ones([2]) };
      expect(() => opt.update({ a: lg.ones([2], { dtype: 'int32' }) }, opt.init(p), p)).toThrow(/int32.*float32/);
    });

    it(`${name}: state from other parameters is an error naming the state path`, () => {
      const opt = make();
      const p = { a: lg.ones([2]) };
      const other = opt.init({ a: lg.ones([3]) });
      const run = () => opt.update({ a: lg.ones([2]) }, other, p);
      // sgd without momentum has no per-parameter state to disagree.
      if (name === 'optim.sgd' && (other as { velocity: unknown }).velocity === null) expect(run).not.toThrow();
      else expect(run).toThrow(/state\.(velocity|m)\.a has shape \[3\]/);
    });

    it(`${name}: a missing or foreign state is an error, not a TypeError`, () => {
      const opt = make();
      const p = { a: lg.ones([2]) };
      for (const s of [undefined, null, 5, {}, { step: 1 }])
        expect(() => opt.update({ a: lg.ones([2]) }, s, p)).toThrow(lg.LazygradError);
    });
  }

  it('matching trees still update (sgd: p - lr*g, hand-computed)', () => {
    const opt = lg.optim.sgd({ lr: 0.5 });
    const p = { layers: [{ w: lg.tensor([1, 2]) }] };
    const [np] = opt.update({ layers: [{ w: lg.tensor([2, -2]) }] }, opt.init(p), p) as unknown as [
      { layers: { w: T }[] },
    ];
    expect(np.layers[0].w.toArray()).toEqual([0, 3]);
  });

  it('treeMap names the key path and both structures', () => {
    const run = () => lg.treeMap((a, b) => a.add(b), { x: [lg.ones([1])] }, { x: [lg.ones([1]), lg.ones([1])] });
    expect(run).toThrow(lg.LazygradError);
    expect(run).toThrow(
      /treeMap: tree 0 and tree 1 differ at x: tree 0 has an array of 1 item, tree 1 has an array of 2 items/,
    );
  });
});
